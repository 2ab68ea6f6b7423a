#include "edgesim/algo/fedasync.hpp"

#include <algorithm>
#include <numeric>

namespace edgesim {

AsyncAggregation::AsyncAggregation(const Experiment& experiment) : experiment_(experiment) {
  const auto& a = experiment.config.algorithm;
  staleness_ = {a.staleness, a.staleness_a, a.staleness_b};
}

std::vector<int> AsyncAggregation::select(int) {
  std::vector<int> all(static_cast<std::size_t>(experiment_.config.devices.count));
  for (std::size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int>(d);
  return all;
}

void FedAsync::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  for (const TaskResult* task : accepted) {
    const double alpha = experiment_.config.algorithm.async_alpha * staleness_(task->staleness);
    global =
        ((1.0 - alpha) * global.to(torch::kFloat64) + alpha * task->weights.to(torch::kFloat64)).to(torch::kFloat32);
  }
}

void FedBuff::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  if (accepted.empty()) return;
  torch::Tensor buffer;
  for (const TaskResult* task : accepted) {
    const auto delta =
        (task->weights.to(torch::kFloat64) - task->start_model.to(torch::kFloat64)) * staleness_(task->staleness);
    buffer = buffer.defined() ? buffer + delta : delta;
  }
  const int buffered = static_cast<int>(accepted.size());
  global = (global.to(torch::kFloat64) + experiment_.config.algorithm.server_lr * buffer / buffered).to(torch::kFloat32);
}

}  // namespace edgesim
