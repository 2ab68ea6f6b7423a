// cross_block: Co-S²P's local objective (trainer/trainer.hpp, trainer/co_s2p_loss.hpp). The task's
// submodel keeps the exit heads of its blocks (SubmodelSpec::exits); every step runs them all in
// one pass (SpecNet::forward_exits) and trains on their cross-entropies plus, when the option
// `distill` is on, each shallower exit's γ·T²·KL towards the deepest one. With `mask_epochs` > 0
// it first learns which units to keep (trainer/unit_masks.hpp: rate `mask_rate`, λ `mask_lambda`,
// Adam lr `mask_lr`), then trains through those 0/1 gates — what the smaller submodel computes
// — and returns the decisions as per-device state "co_s2p_kept" (1 per kept unit, the sliceable
// groups' units in group order). The mask passes are charged as training passes.
#include "common.hpp"
#include "edgesim/trainer/co_s2p_loss.hpp"
#include "edgesim/trainer/unit_masks.hpp"

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
  // A task that learns masks first peaks at the larger of its two phases.
  std::uint64_t memory_bytes(const TrainerInput& in) const override {
    const std::uint64_t training = sgd_memory(in, all_exits_shape(in));
    if (in.order.options.number("mask_epochs", 0) <= 0) return training;
    return std::max(training, mask_learning_memory(in.arch, in.recipe.batch_size).total());
  }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    const double gamma = in.order.options.number("gamma", 0.5);
    const double temperature = in.order.options.number("temperature", 3.0);
    const bool distill = in.order.options.number("distill", 1.0) != 0.0;
    const int mask_epochs = static_cast<int>(in.order.options.number("mask_epochs", 0));
    std::vector<torch::Tensor> keep;
    if (mask_epochs > 0) {
      const UnitMaskOptions mask{in.order.options.number("mask_rate", 0.5), mask_epochs,
                                 in.order.options.number("mask_lambda", 1.0), in.order.options.number("mask_lr", 0.05),
                                 recipe.batch_size};
      Rng mask_rng(in.seed, Purpose::kMask, in.order.device, in.order.round);
      keep = learn_unit_masks(net, in.data, mask, mask_rng);
      net->set_unit_gates(keep);
    }
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
    if (mask_epochs > 0) {
      net->set_unit_gates({});
      const double share = double(mask_epochs) / std::max(1, recipe.epochs);
      out.flops += training_flops_per_sample(in.arch) * double(out.local.samples) * share;
      out.work += local_work(in, sgd_shape(in)).scaled(share);
      std::vector<torch::Tensor> parts;
      for (const auto& k : keep)
        if (k.defined()) parts.push_back(k);
      out.state["co_s2p_kept"] = torch::cat(parts);
    }
    return out;
  }
};

}  // namespace

const Trainer& cross_block_trainer() {
  static const CrossBlockTrainer t;
  return t;
}

}  // namespace edgesim
