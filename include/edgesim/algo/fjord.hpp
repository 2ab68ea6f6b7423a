#pragma once
// FjORD (Horváth et al., NeurIPS 2021): ordered dropout. Device d holds the prefix submodel of
// its p_max (its rate, as in HeteroFL) and, at every local step, trains only the leftmost
// ceil(p·C) units of each hidden group, with p drawn uniformly from the levels ≤ p_max
// (`algorithm.rate_levels`) — so every width up to p_max learns to work on its own. Merge:
// coverage averaging weighted by local samples (FedAvg's rule on the parameters each device
// holds). [choice] Ordered dropout is applied by zeroing the dropped units' outputs, so they
// get no gradient; with momentum or weight decay their weights still move a little (the
// paper slices the weights per step instead). Self-distillation (the paper's optional KD from
// p_max to the sampled width) is `algorithm.fjord_distillation`.
#include "edgesim/algo/heterofl.hpp"

namespace edgesim {

class FjORD : public HeteroFL {
 public:
  explicit FjORD(const Experiment& experiment);
  std::vector<double> eval_rates() const override;  // every level up to the largest p_max
  // The published code evaluates with BN running statistics tracked in training (one set per
  // width there; here the shared ones, fed only by the active channels): the model's own.
  EvaluationRule evaluation_rule() const override { return {}; }

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  // The ordered_dropout trainer with the widths up to p_max (and self-distillation).
  void configure(int device, int round, TaskPlan& plan) override;
  Weighting published_weighting() const override { return Weighting::kSamples; }
  // The published code (Flower baselines/fjord, strategy.py) averages every row over every
  // device that holds it, weighted by samples: no label split.
  bool published_label_split() const override { return false; }

 private:
  std::vector<double> widths(int device) const;  // the levels a step may draw, up to p_max
  std::vector<double> levels_;  // ascending
};

}  // namespace edgesim
