// contrastive: MOON's model-contrastive loss (Li et al., CVPR 2021) on top of sgd
// (trainer/trainer.hpp). With z the local representation, z_g the received model's and z_p the
// device's previous local model's (per-device state "previous"; the received model on the
// device's first task, as MOON's code starts its pool of old models):
//   loss = CE + mu · −log( e^{cos(z, z_g)/τ} / (e^{cos(z, z_g)/τ} + e^{cos(z, z_p)/τ}) )
// The two reference networks run forward only, without gradients, and are charged so.
#include "common.hpp"

namespace edgesim {
namespace {

using namespace trainer_detail;

TrainingShape contrastive_shape(const TrainerInput& in) {
  TrainingShape s = sgd_shape(in);
  s.no_grad_passes = 2;  // the received model and the previous local model
  return s;
}

class ContrastiveTrainer : public Trainer {
 public:
  std::uint64_t memory_bytes(const TrainerInput& in) const override { return sgd_memory(in, contrastive_shape(in)); }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    const double mu = in.order.options.number("mu", 1.0), tau = in.order.options.number("tau", 0.5);
    const int back = static_cast<int>(in.order.options.number("representation", 1.0));
    const torch::Tensor& received = in.order.weights();
    auto previous_it = in.order.tensors.find("previous");
    const bool has_previous = previous_it != in.order.tensors.end() && previous_it->second.numel() == received.numel();
    auto reference = [&](const torch::Tensor& weights) {
      SpecNet r = build_network(in.arch);
      load_weights(*r, weights);
      r->eval();  // its BN statistics are not updated by the local data
      return r;
    };
    SpecNet global_net = reference(received);
    SpecNet previous_net = reference(has_previous ? previous_it->second : received);
    Rng rng(in.seed, Purpose::kShuffle, in.order.device, in.order.round);
    StepLoss loss = [&](SpecNet& n, const torch::Tensor& x, const torch::Tensor& y) {
      auto [logits, z] = n->forward_with_features(x, back);
      torch::Tensor zg, zp;
      {
        torch::NoGradGuard no_grad;
        zg = global_net->forward_with_features(x, back).second;
        zp = previous_net->forward_with_features(x, back).second;
      }
      if (present.defined()) logits = logits * present;
      return classification_loss(logits, y) + mu * contrastive_loss(z, zg, zp, tau);
    };
    TrainerOutput out;
    out.local = train_locally(net, in.data.x, in.data.y, recipe, rng, {}, loss);
    out.flops = training_flops_per_sample(in.arch, contrastive_shape(in)) * double(out.local.samples);
    out.work = local_work(in, contrastive_shape(in));
    out.state["previous"] = flatten_weights(*net);
    return out;
  }
};

}  // namespace

const Trainer& contrastive_trainer() {
  static const ContrastiveTrainer t;
  return t;
}

}  // namespace edgesim
