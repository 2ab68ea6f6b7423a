#pragma once
// Synchronous FedAvg (McMahan et al., AISTATS 2017): a fraction of the devices trains the
// full model each round; updates are averaged weighted by local sample counts. Stragglers:
// wait for all, or drop updates that miss the round deadline.
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

class FedAvg : public Algorithm {
 public:
  explicit FedAvg(const Experiment& experiment);
  std::vector<int> select(int round) override;
  double close_round(double round_start, std::vector<TaskResult>& tasks) override;
  // Coverage averaging with `algorithm.weighting`, "auto" meaning published_weighting().
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;

 protected:
  // The merge weights of the algorithm's paper or code: FedAvg weights by local samples.
  virtual Weighting published_weighting() const { return Weighting::kSamples; }
  const Experiment& experiment_;
};

}  // namespace edgesim
