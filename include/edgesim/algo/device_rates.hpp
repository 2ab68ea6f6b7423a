#pragma once
// Each device's rate for the width-scaled algorithms (HeteroFL, FedRolex): given per
// device (`algorithm.rates`, cycled), or derived from its capability by `algorithm.rate_rule`
// [choice]: the largest of `algorithm.rate_levels` whose estimated training footprint is at
// most `rate_memory_margin` of the device's memory cap (`memory`: the estimate runs up to ~15%
// under the measured peak), and whose compute r²·slowdown is at most the reference device's
// full-model compute too (`memory_and_speed`; conv cost scales with r²). The submodel of a rate
// is cut as `algorithm.slicing` says; cut in depth, its compute share is its FLOPs over the full
// model's instead of r². A device that fits no level gets the smallest (it will end as `oom`,
// visibly, rather than be dropped silently). A policy whose tasks cost otherwise (DepthFL: every
// classifier trains) gives its own footprint of a rate.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

struct RateFootprint {
  std::uint64_t memory_bytes = 0;  // the task's training footprint estimate
  double compute_share = 1;        // its compute over the full model's plain training
};
using RateCost = std::function<RateFootprint(double rate)>;

std::vector<double> device_rates(const Experiment& experiment);  // HeteroFL's submodels, `algorithm.slicing`
std::vector<double> device_rates(const Experiment& experiment, const RateCost& cost);
// The footprint of the task `plan` describes (its submodel, trainer and options), from its trainer
// with every exit of the submodel trained — the executor's own estimate (DepthFL, Co-S²P).
RateFootprint exits_training_footprint(const Experiment& experiment, const TaskPlan& plan);
// Which rule device_rates() applied, in words naming its keys (for the start-up summary).
std::string rate_rule_description(const Experiment& experiment);

}  // namespace edgesim
