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

// Σ w_i x_i / Σ w_i with w_i = local samples, accumulated in float64 in the given order.
// Leaves `global` unchanged when nothing was accepted.
void average_by_samples(torch::Tensor& global, const std::vector<const TaskResult*>& accepted);

}  // namespace edgesim
