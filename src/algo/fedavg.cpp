#include "edgesim/algo/fedavg.hpp"

#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

FedAvg::FedAvg(const Experiment& experiment) : experiment_(experiment) {}

std::vector<int> FedAvg::select(int round) {
  const auto& c = experiment_.config;
  return select_fraction(c.devices.count, c.algorithm.fraction, c.run.seed, round);
}

double FedAvg::close_round(double round_start, std::vector<TaskResult>& tasks) {
  const auto& a = experiment_.config.algorithm;
  if (a.straggler == "deadline") return close_with_deadline(round_start, a.deadline_s, tasks);
  return close_wait_all(round_start, tasks);
}

void FedAvg::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  average_updates(global, accepted, weighting_from_config(experiment_.config.algorithm.weighting, published_weighting()));
}

}  // namespace edgesim
