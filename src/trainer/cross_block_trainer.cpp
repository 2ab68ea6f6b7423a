// cross_block: Co-S²P's local objective (trainer/trainer.hpp, trainer/co_s2p_loss.hpp). The task's
// submodel keeps the exit heads of its blocks (SubmodelSpec::exits); every step runs them all in
// one pass (SpecNet::forward_exits) and trains on their cross-entropies plus, when the option
// `distill` is on, each shallower exit's γ·T²·KL towards the deepest one.
#include "common.hpp"
#include "edgesim/trainer/co_s2p_loss.hpp"

namespace edgesim {
namespace {

using namespace trainer_detail;

TrainingShape all_exits_shape(const TrainerInput& in) {
  TrainingShape s = sgd_shape(in);
  s.all_exits = true;  // every exit's forward and backward
  return s;
}

class CrossBlockTrainer : public Trainer {
 public:
  std::uint64_t memory_bytes(const TrainerInput& in) const override { return sgd_memory(in, all_exits_shape(in)); }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    const double gamma = in.order.options.number("gamma", 0.5);
    const double temperature = in.order.options.number("temperature", 3.0);
    const bool distill = in.order.options.number("distill", 1.0) != 0.0;
    Rng rng(in.seed, Purpose::kShuffle, in.order.device, in.order.round);
    StepLoss loss = [&](SpecNet& n, const torch::Tensor& x, const torch::Tensor& y) {
      std::vector<torch::Tensor> logits = n->forward_exits(x);
      if (present.defined())
        for (auto& z : logits) z = z * present;
      return cross_block_distillation_loss(logits, y, gamma, temperature, distill);
    };
    TrainerOutput out;
    out.local = train_locally(net, in.data.x, in.data.y, recipe, rng, {}, loss);
    out.flops = training_flops_per_sample(in.arch, all_exits_shape(in)) * double(out.local.samples);
    out.work = local_work(in, all_exits_shape(in));
    return out;
  }
};

}  // namespace

const Trainer& cross_block_trainer() {
  static const CrossBlockTrainer t;
  return t;
}

}  // namespace edgesim
