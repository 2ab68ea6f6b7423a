#pragma once
// HeteroFL (Diao et al., ICLR 2021): FedAvg in which device d trains the static prefix
// submodel of its rate r_d — the first ceil(r_d·C) units of every hidden unit group — and the
// server averages each parameter over the devices that hold it (uniformly, as the published
// code does; `algorithm.weighting` can switch to sample weights). Static BN and the 1/r
// scaler are `model.static_bn` and `model.scaler`; its masked cross-entropy is
// `algorithm.masked_ce`. `algorithm.slicing` makes the rate cut the
// depth instead (the first ceil(r·B) blocks and the last one's early-exit head, as DepthFL,
// Kim et al. ICLR 2023, deploys them), or both; everything else stays the same.
#include "edgesim/algo/fedavg.hpp"

namespace edgesim {

class HeteroFL : public FedAvg {
 public:
  explicit HeteroFL(const Experiment& experiment);
  std::vector<double> eval_rates() const override;  // the distinct device rates
  SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const override;  // cut as devices get it
  std::optional<RateAssignment> rate_assignment() const override;  // device_rates()'s rates and rule

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  void configure(int device, int round, TaskPlan& plan) override;  // masked CE (`algorithm.masked_ce`)
  Weighting published_weighting() const override { return Weighting::kUniform; }
  std::vector<double> rates_;  // per device
  Slicing slicing_;
};

}  // namespace edgesim
