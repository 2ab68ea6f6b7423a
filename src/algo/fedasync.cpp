#include "edgesim/algo/fedasync.hpp"

#include <algorithm>

namespace edgesim {

AsyncAggregation::AsyncAggregation(const Experiment& experiment) : experiment_(experiment) {
  const auto& a = experiment.config.algorithm;
  staleness_ = {a.staleness, a.staleness_a, a.staleness_b};
}

int AsyncAggregation::concurrency() const {
  const int n = experiment_.config.devices.count, c = experiment_.config.algorithm.concurrency;
  return c > 0 ? std::min(c, n) : n;
}

bool FedAsync::apply_async(torch::Tensor& global, const TaskResult& task, const torch::Tensor&,
                           std::int64_t staleness) {
  const double alpha = experiment_.config.algorithm.async_alpha * staleness_(staleness);
  global = ((1.0 - alpha) * global.to(torch::kFloat64) + alpha * task.weights.to(torch::kFloat64)).to(torch::kFloat32);
  return true;
}

bool FedBuff::apply_async(torch::Tensor& global, const TaskResult& task, const torch::Tensor& start,
                          std::int64_t staleness) {
  const auto delta = (task.weights.to(torch::kFloat64) - start.to(torch::kFloat64)) * staleness_(staleness);
  buffer_ = buffer_.defined() ? buffer_ + delta : delta;
  if (++buffered_ < experiment_.config.algorithm.buffer_size) return false;
  global = (global.to(torch::kFloat64) + experiment_.config.algorithm.server_lr * buffer_ / buffered_)
               .to(torch::kFloat32);
  buffer_ = torch::Tensor();
  buffered_ = 0;
  return true;
}

}  // namespace edgesim
