#pragma once
// Asynchronous aggregation, under the async schedule (algo/schedule.hpp) by default: the
// runtime keeps `algorithm.concurrency` devices training; finished updates arrive in
// virtual-time order with their staleness τ (global versions since the task started).
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
  std::string default_schedule() const override { return "async"; }
  std::vector<int> select(int round) override;  // every device (the participants under semi_async)

 protected:
  const Experiment& experiment_;
  StalenessFunction staleness_;
};

class FedAsync : public AsyncAggregation {
 public:
  using AsyncAggregation::AsyncAggregation;
  // Each update in turn (one at a time under the async schedule).
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
};

class FedBuff : public AsyncAggregation {
 public:
  using AsyncAggregation::AsyncAggregation;
  int aggregation_size() const override { return experiment_.config.algorithm.buffer_size; }
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
};

}  // namespace edgesim
