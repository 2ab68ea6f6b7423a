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

// The same for several tasks (task k: plans[k], starts[k], clock_rounds[k]) whose transfers
// share links: every task's downloads are timed together, then every task's uploads, each from
// its own start (device/transfer.hpp), so a peer serving several others at once serves each
// more slowly. [choice] The two phases are timed apart: a download from a peer is not slowed
// by that peer's own uploads (in a synchronous round those come after its training, mostly
// after the round's downloads). One task alone is apply_clock, bit for bit.
void apply_clock_together(const Experiment& e, const std::vector<LinkProfile>& links,
                          const std::vector<const TaskPlan*>& plans, const std::vector<double>& starts,
                          const std::vector<std::int64_t>& clock_rounds, const std::vector<TaskResult*>& tasks);

}  // namespace edgesim
