#pragma once
// Asynchronous aggregation. The runtime keeps `algorithm.concurrency` devices training; each
// finished update is handed over in virtual-time order with its staleness τ (global versions
// since its task started).
//   FedAsync (Xie et al. 2019): apply every update at once,
//     global ← (1 − α_τ)·global + α_τ·x,  α_τ = α·s(τ)   (`algorithm.async_alpha`)
//   FedBuff (Nguyen et al. 2022): buffer s(τ)·(x − x_start); every `algorithm.buffer_size`
//     updates, global ← global + η·mean(buffer)                (`algorithm.server_lr`)
// Both train the whole model (no submodels).
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/async_rules.hpp"

namespace edgesim {

class AsyncAggregation : public Algorithm {
 public:
  explicit AsyncAggregation(const Experiment& experiment);
  bool asynchronous() const override { return true; }
  int concurrency() const override;
  // Synchronous hooks: unused in asynchronous runs.
  std::vector<int> select(int) override { return {}; }
  double close_round(double round_start, std::vector<TaskResult>&) override { return round_start; }
  void merge(torch::Tensor&, const std::vector<const TaskResult*>&) override {}

 protected:
  const Experiment& experiment_;
  StalenessFunction staleness_;
};

class FedAsync : public AsyncAggregation {
 public:
  using AsyncAggregation::AsyncAggregation;
  bool apply_async(torch::Tensor& global, const TaskResult& task, const torch::Tensor& start,
                   std::int64_t staleness) override;
};

class FedBuff : public AsyncAggregation {
 public:
  using AsyncAggregation::AsyncAggregation;
  bool apply_async(torch::Tensor& global, const TaskResult& task, const torch::Tensor& start,
                   std::int64_t staleness) override;

 private:
  torch::Tensor buffer_;
  int buffered_ = 0;
};

}  // namespace edgesim
