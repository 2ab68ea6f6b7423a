// depthfl: DepthFL's local objective (trainer/trainer.hpp, trainer/depthfl_loss.hpp). The task's
// submodel keeps a classifier after each of its block levels (SubmodelSpec::exits); every step
// runs them all in one pass (SpecNet::forward_exits) and trains on the sum of their
// cross-entropies plus mutual self-distillation, optionally with FedDyn's correction (per-device
// state "feddyn_h": the device's h_i over its submodel's parameters, zero on its first task).
#include "common.hpp"
#include "edgesim/trainer/depthfl_loss.hpp"

namespace edgesim {
namespace {

using namespace trainer_detail;

TrainingShape depthfl_shape(const TrainerInput& in) {
  TrainingShape s = sgd_shape(in);
  s.all_exits = true;  // every classifier's forward and backward
  return s;
}

double feddyn_alpha(const TrainerInput& in) { return in.order.options.number("feddyn_alpha", 0.0); }

// Every parameter as one differentiable vector, in the flat layout's order.
torch::Tensor flat_parameters(SpecNet& net) {
  std::vector<torch::Tensor> views;
  for (const auto& p : net->parameters()) views.push_back(p.reshape(-1));
  return torch::cat(views);
}

class DepthFLTrainer : public Trainer {
 public:
  std::uint64_t memory_bytes(const TrainerInput& in) const override {
    std::uint64_t bytes = sgd_memory(in, depthfl_shape(in));
    // FedDyn: the received parameters, h_i, and the concatenated parameters of each step.
    if (feddyn_alpha(in) > 0) bytes += 3ull * 4ull * static_cast<std::uint64_t>(in.arch.parameter_count());
    return bytes;
  }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    const double weight = in.order.options.number("kd_weight", 1.0);
    const double temperature = in.order.options.number("temperature", 1.0);
    const double alpha = feddyn_alpha(in);
    const std::int64_t params = in.arch.parameter_count();
    const torch::Tensor received = in.order.weights().narrow(0, 0, params).clone();
    torch::Tensor h = torch::zeros({params});
    if (auto it = in.order.tensors.find("feddyn_h"); it != in.order.tensors.end() && it->second.numel() == params)
      h = it->second;
    Rng rng(in.seed, Purpose::kShuffle, in.order.device, in.order.round);
    StepLoss loss = [&](SpecNet& n, const torch::Tensor& x, const torch::Tensor& y) {
      std::vector<torch::Tensor> logits = n->forward_exits(x);
      if (present.defined())
        for (auto& z : logits) z = z * present;
      auto l = mutual_distillation_loss(logits, y, weight, temperature);
      if (alpha > 0) l = l + feddyn_penalty(flat_parameters(n), received, h, alpha);
      return l;
    };
    TrainerOutput out;
    out.local = train_locally(net, in.data.x, in.data.y, recipe, rng, {}, loss);
    out.flops = training_flops_per_sample(in.arch, depthfl_shape(in)) * double(out.local.samples);
    out.work = local_work(in, depthfl_shape(in));
    if (alpha > 0) {
      torch::NoGradGuard no_grad;
      out.state["feddyn_h"] = feddyn_next_state(h, flat_parameters(net), received, alpha);
    }
    return out;
  }
};

}  // namespace

const Trainer& depthfl_trainer() {
  static const DepthFLTrainer t;
  return t;
}

}  // namespace edgesim
