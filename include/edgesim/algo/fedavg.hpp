#pragma once
// Synchronous FedAvg (McMahan et al., AISTATS 2017): a fraction of the devices trains the
// full model each round; updates are averaged weighted by local sample counts. Stragglers:
// wait for all, or drop updates that miss the round deadline (the synchronous schedule's
// `algorithm.straggler`).
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

class FedAvg : public Algorithm {
 public:
  explicit FedAvg(const Experiment& experiment);
  std::vector<int> select(int round) override;
  // submodel(), trained by sgd with HeteroFL's scaler (`model.scaler`) when it is narrower than
  // the model, then configure() for what the policy adds.
  TaskPlan plan(int device, int round) override;
  // Coverage averaging with `algorithm.weighting`, "auto" meaning published_weighting().
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;

 protected:
  // The part of the model `device` trains in `round`; nullopt = the whole model.
  virtual std::optional<SubmodelSpec> submodel(int device, int round) { return std::nullopt; }
  // The trainer and its options beyond the scaler (masked CE, ordered dropout, an L1 term).
  virtual void configure(int device, int round, TaskPlan& plan) {}
  // The merge weights of the algorithm's paper or code: FedAvg weights by local samples.
  virtual Weighting published_weighting() const { return Weighting::kSamples; }
  const Experiment& experiment_;
};

}  // namespace edgesim
