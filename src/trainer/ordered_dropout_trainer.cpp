// ordered_dropout: FjORD's per-step widths, optionally with self-distillation (trainer/trainer.hpp).
#include <algorithm>

#include "common.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {
namespace {

using namespace trainer_detail;

class OrderedDropoutTrainer : public Trainer {
 public:
  std::uint64_t memory_bytes(const TrainerInput& in) const override {
    TrainingShape shape = sgd_shape(in);
    if (distills(in)) shape.forward_passes = 2;  // a teacher and a student graph per step
    return sgd_memory(in, shape);
  }

  TrainerOutput train(SpecNet& net, const TrainerInput& in) const override {
    const LocalRecipe recipe = prepare(net, in);
    const torch::Tensor present = present_classes(in);
    const bool distill = distills(in);
    // The widths a step may train, as unit counts of the task's submodel, and what each costs.
    struct Width {
      std::vector<int> units;
      double flops_per_sample;
      ModelSpec arch;  // for the calibrated clock's per-op work
    };
    std::vector<Width> widths;
    for (double p : in.order.options.list("widths")) {
      ModelSpec narrow = in.arch;
      for (std::size_t g = 0; g < narrow.groups.size(); ++g)
        if (narrow.groups[g].sliceable)
          narrow.groups[g].units = std::min(in.arch.groups[g].units, kept_units(in.global.groups[g].units, p));
      Width w{{}, training_flops_per_sample(narrow), narrow};
      for (const auto& g : narrow.groups) w.units.push_back(g.units);
      widths.push_back(std::move(w));
    }
    if (widths.empty()) throw std::invalid_argument("trainer ordered_dropout: option `widths` is empty");
    Rng rng(in.seed, Purpose::kShuffle, in.order.device, in.order.round);
    Rng dropout_rng(in.seed, Purpose::kDropout, in.order.device, in.order.round);
    double step_flops = 0;
    ComputeWork work;
    const TrainingShape shape = sgd_shape(in);
    const ComputeWork update = training_step_work(in.arch, shape, 1);
    const Width* sampled = nullptr;           // this step's width
    const Width* p_max = &widths.back();      // the device's whole submodel
    StepHook per_step = [&](std::int64_t batch) {
      sampled = &widths[dropout_rng.below(widths.size())];
      if (!distill) net->set_active_units(sampled->units);
      // Distilling: the teacher pass at p_max, then the student pass unless it drew p_max.
      const double teacher = distill ? p_max->flops_per_sample : 0.0;
      const double student = distill && sampled == p_max ? 0.0 : sampled->flops_per_sample;
      step_flops += (teacher + student) * double(batch);
      // The calibrated clock's view of the same passes: each a forward and backward of its width
      // (the teacher's graph is differentiated too: its loss is the CE term), one update.
      ComputeWork step;
      if (distill) step += training_step_work(p_max->arch, shape, static_cast<int>(batch));
      if (!distill || sampled != p_max) step += training_step_work(sampled->arch, shape, static_cast<int>(batch));
      step.steps = 1;  // the optimizer updates the whole submodel once
      step.optimizer_floats = update.optimizer_floats, step.optimizer_tensors = update.optimizer_tensors;
      work += step;
    };
    // Self-distillation: the full submodel learns from the labels, the sampled width from the
    // full submodel's output (two forward passes, both charged).
    StepLoss step_loss = [&](SpecNet& n, const torch::Tensor& xb, const torch::Tensor& yb) {
      if (!distill) return classification_loss(masked_logits(n, xb, present), yb);
      n->set_active_units({});
      const auto teacher = masked_logits(n, xb, present);
      auto loss = classification_loss(teacher, yb);
      if (sampled != p_max) {
        n->set_active_units(sampled->units);
        loss = loss + distillation_loss(masked_logits(n, xb, present), teacher);
      }
      return loss;
    };
    TrainerOutput out;
    out.local = train_locally(net, in.data.x, in.data.y, recipe, rng, per_step, step_loss);
    out.flops = step_flops;
    out.work = work;
    return out;
  }

 private:
  static bool distills(const TrainerInput& in) {
    return in.order.options.flag("distill") && !in.order.options.list("widths").empty();
  }
};

}  // namespace

const Trainer& ordered_dropout_trainer() {
  static const OrderedDropoutTrainer t;
  return t;
}

}  // namespace edgesim
