#pragma once
// HeteroFL (Diao et al., ICLR 2021): FedAvg in which device d trains the static prefix
// submodel of its rate r_d — the first ceil(r_d·C) units of every hidden unit group — and the
// server averages each parameter over the devices that hold it (uniformly, as the published
// code does; `algorithm.weighting` can switch to sample weights). Static BN and the 1/r
// scaler are `model.static_bn` and `model.scaler`; its masked cross-entropy is
// `algorithm.masked_ce`. `algorithm.slicing` makes the rate cut the
// depth instead (the first ceil(r·B) blocks and the last one's early-exit head, as DepthFL,
// Kim et al. ICLR 2023, deploys them), or both; everything else stays the same. The merge
// label-splits the classifier rows (algo/label_split.hpp) as the published code does
// (`algorithm.label_split_merge`), and evaluation re-estimates BN statistics on training data
// first (runtime/bn_statistics.hpp), as its `stats` pass does.
#include <optional>

#include "edgesim/algo/fedavg.hpp"
#include "edgesim/algo/label_split.hpp"

namespace edgesim {

class HeteroFL : public FedAvg {
 public:
  explicit HeteroFL(const Experiment& experiment);
  std::vector<double> eval_rates() const override;  // the distinct device rates
  SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const override;  // cut as devices get it
  // Coverage averaging, with the classifier rows label-split when `algorithm.label_split_merge`
  // (auto = published_label_split()) says so.
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
  // HeteroFL's code re-estimates BN statistics on training data before it evaluates (`stats`).
  EvaluationRule evaluation_rule() const override;
  std::optional<RateAssignment> rate_assignment() const override;  // device_rates()'s rates and rule

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  void configure(int device, int round, TaskPlan& plan) override;  // masked CE (`algorithm.masked_ce`)
  Weighting published_weighting() const override { return Weighting::kUniform; }
  // Whether the published code label-splits the classifier rows: HeteroFL's and FedRolex's do.
  virtual bool published_label_split() const { return true; }
  std::vector<double> rates_;  // per device
  Slicing slicing_;

 private:
  std::optional<LabelSplit> label_split_;  // built at the first merge that uses it
};

}  // namespace edgesim
