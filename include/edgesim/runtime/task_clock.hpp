#pragma once
// The virtual clock applied to device tasks: a task that starts at `start_s` downloads (its
// plan's transfers, timed together by device/transfer.hpp: the (sub)model from the server when
// the plan lists none), computes for reference seconds × the device's slowdown in that round,
// then uploads. A task refused for memory fails on arrival: no compute, no upload.
#include <cstdint>
#include <vector>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/device/transfer.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

// The plan's downloads and uploads, or the star's for `bytes_down` / `bytes_up`.
std::vector<Transfer> task_downloads(const TaskPlan& plan, int device, std::uint64_t bytes_down);
std::vector<Transfer> task_uploads(const TaskPlan& plan, int device, std::uint64_t bytes_up);

// Seconds until every download of the task has arrived (known before it trains).
double download_seconds(const std::vector<Transfer>& downloads, const std::vector<LinkProfile>& links);

// Sets the task's start/end/compute/download/upload times and its transfers (round unset).
void apply_clock(const Experiment& e, const std::vector<LinkProfile>& links, const TaskPlan& plan, double start_s,
                 std::int64_t clock_round, TaskResult& task);

}  // namespace edgesim
