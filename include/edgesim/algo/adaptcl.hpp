#pragma once
// AdaptCL (Zhou et al., arXiv 2106.14126): synchronous rounds in which every worker trains a
// structured submodel pruned from the full global model, sized so that all workers take
// about as long as the fastest one. What each worker trains comes from two things only:
//  - its keep rate, learned from its observed update times (PrunedRateLearner; the profile
//    is never read), and
//  - channel importance of the current global model (|γ| of BatchNorm, trained with
//    Network Slimming's L1 penalty, or filter L2 norms): the worker keeps the most
//    important ceil(keep·C) channels of every layer, re-extracted every round.
// Updates of different sizes merge by coverage averaging (each parameter over the workers
// that trained it). Reconstructed choices are labelled in docs/ALGORITHMS.md.
#include "edgesim/algo/fedavg.hpp"
#include "edgesim/algo/pruned_rate_learner.hpp"
#include "edgesim/model/importance.hpp"

namespace edgesim {

class AdaptCL : public FedAvg {
 public:
  explicit AdaptCL(const Experiment& experiment);
  void begin_round(const torch::Tensor& global, int round) override;
  // The learner observes the round's update times (after the straggler rule).
  void observe_round(const std::vector<TaskResult>& tasks) override;
  std::optional<RateAssignment> rate_assignment() const override;  // the learner's starting keep rates
  std::string save_state() const override { return learner_.save_state(); }
  void load_state(const std::string& state) override { learner_.load_state(state); }

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  void configure(int device, int round, TaskPlan& plan) override;  // Network Slimming's L1 (`adaptcl_bn_l1`)

 private:
  PrunedRateLearner learner_;
  ImportanceCriterion criterion_;
  std::vector<std::vector<double>> importance_;  // of the current global model
};

}  // namespace edgesim
