#pragma once
// Each device's rate for the width-scaled algorithms (HeteroFL, FedRolex): given per
// device (`algorithm.rates`, cycled), or derived from its capability by `algorithm.rate_rule`
// [choice]: the largest of `algorithm.rate_levels` whose estimated training footprint is at
// most `rate_memory_margin` of the device's memory cap (`memory`: the estimate runs up to ~15%
// under the measured peak), and whose compute r²·slowdown is at most the reference device's
// full-model compute too (`memory_and_speed`; conv cost scales with r²). The submodel of a rate
// is cut as `algorithm.slicing` says; cut in depth, its compute share is its FLOPs over the full
// model's instead of r². A device that fits no level gets the smallest (it will end as `oom`,
// visibly, rather than be dropped silently).
#include <string>
#include <vector>

#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

std::vector<double> device_rates(const Experiment& experiment);
// Which rule device_rates() applied, in words naming its keys (for the start-up summary).
std::string rate_rule_description(const Experiment& experiment);

}  // namespace edgesim
