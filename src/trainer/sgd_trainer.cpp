// sgd: plain local SGD on cross-entropy (trainer/trainer.hpp).
#include "common.hpp"

namespace edgesim {
namespace {

using namespace trainer_detail;

class SgdTrainer : public Trainer {
 public:
  std::uint64_t memory_bytes(const TrainerInput& in) const override { return sgd_memory(in, sgd_shape(in)); }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    Rng rng(in.seed, Purpose::kShuffle, in.order.device, in.order.round);
    StepLoss loss = [&](SpecNet& n, const torch::Tensor& x, const torch::Tensor& y) {
      return classification_loss(masked_logits(n, x, present), y);
    };
    TrainerOutput out;
    out.local = train_locally(net, in.data.x, in.data.y, recipe, rng, {}, loss);
    out.flops = training_flops_per_sample(in.arch, sgd_shape(in)) * double(out.local.samples);
    out.work = local_work(in, sgd_shape(in));
    return out;
  }
};

}  // namespace

const Trainer& sgd_trainer() {
  static const SgdTrainer t;
  return t;
}

}  // namespace edgesim
