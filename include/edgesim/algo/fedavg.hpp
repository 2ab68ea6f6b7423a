#pragma once
// Synchronous FedAvg (McMahan et al., AISTATS 2017): a fraction of the devices trains the
// full model each round; updates are averaged weighted by local sample counts. Stragglers:
// wait for all, or drop updates that miss the round deadline.
#include "edgesim/algo/algorithm.hpp"

namespace edgesim {

class FedAvg : public Algorithm {
 public:
  explicit FedAvg(const Experiment& experiment);
  std::vector<int> select(int round) override;
  double close_round(double round_start, std::vector<TaskResult>& tasks) override;
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;

 private:
  const Experiment& experiment_;
};

}  // namespace edgesim
