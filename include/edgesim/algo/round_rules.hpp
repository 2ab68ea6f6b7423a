#pragma once
// Building blocks shared by synchronous policies.
#include <vector>

#include "edgesim/common/rng.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

// max(1, round(fraction × n)) devices drawn without replacement from the stream
// (seed, selection, round), returned ascending; all devices when fraction = 1.
std::vector<int> select_fraction(int num_devices, double fraction, std::uint64_t seed, int round);

// Straggler policies. Wait-for-all: the round ends with its last task. Deadline: it ends at
// round_start + deadline_s (or earlier if every task is done); tasks that would end later are
// cancelled at the deadline: status dropped, end_s = deadline, compute cut short, no upload.
double close_wait_all(double round_start, const std::vector<TaskResult>& tasks);
double close_with_deadline(double round_start, double deadline_s, std::vector<TaskResult>& tasks);

// Coverage-count averaging: each global entry becomes Σ w_i x_i / Σ w_i over the accepted
// updates whose submodel holds it (accumulated in float64 in the given order); entries that no
// update holds, and everything when nothing was accepted, keep their value.
enum class Weighting { kSamples, kUniform };  // w_i = local samples, or 1
void average_updates(torch::Tensor& global, const std::vector<const TaskResult*>& accepted, Weighting weighting);
// `algorithm.weighting`, with "auto" resolved to the algorithm's published rule.
Weighting weighting_from_config(const std::string& value, Weighting published);

}  // namespace edgesim
