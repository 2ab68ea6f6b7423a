#pragma once
// The virtual clock applied to device tasks: how long a trained task took on its device
// (download, compute × slowdown, upload; profiles may follow a slowdown schedule), and how
// long one will take, known before it trains (analytic clock).
#include <cstdint>
#include <vector>

#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

// Sets start/end/compute/download/upload of each task, all starting at `round_start`, with
// the device as it is in `round`. A task refused for memory fails on arrival (no compute).
void apply_clock(const Experiment& e, double round_start, std::int64_t round, std::vector<TaskResult>& tasks);

// What the executor's estimate and FLOP count will charge `order` in `round` (asynchronous
// runs order their events by it before the task trains).
double predicted_duration(const Experiment& e, const TaskOrder& order, std::int64_t round);

}  // namespace edgesim
