#pragma once
// SSP, stale-synchronous parallel (Ho et al., NIPS 2013), mapped to devices that train locally
// [choice]: under its own `ssp` schedule (algo/schedule.hpp) every device trains continuously and
// may run at most `algorithm.staleness_bound` iterations ahead of the slowest; each update is
// applied on arrival as a parameter server applies a worker's push, scaled to the device's share:
//   global ← global + w_d · (x_d − x_start),  w_d = n_d / Σ_devices n  (`weighting = "uniform"`: 1/N)
// so that with s = 0 (bulk-synchronous) an iteration adds the FedAvg average of the deltas. The
// whole model trains (no submodels).
#include "edgesim/algo/algorithm.hpp"

namespace edgesim {

class Ssp : public Algorithm {
 public:
  explicit Ssp(const Experiment& experiment);
  std::string default_schedule() const override { return "ssp"; }
  std::vector<int> select(int round) override;  // every device
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;

 private:
  const Experiment& experiment_;
  double total_samples_ = 0;
};

}  // namespace edgesim
