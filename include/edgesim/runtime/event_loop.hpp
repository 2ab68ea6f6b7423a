#pragma once
// The one discrete-event loop in virtual time (rank 0). Events — a task finished, a timer fired
// — are applied strictly in (virtual time, device) order, timers after tasks at the same time;
// the schedule (algo/schedule.hpp) answers each by dispatching devices, setting timers and
// aggregating finished updates. Virtual time never decreases.
//
// Tasks are trained lazily and in batches: every task in flight has a fixed starting model, so
// whenever the next event could be decided by a task not yet trained — one that might end before
// the earliest known event, since no task ends before its downloads arrive (an out-of-memory
// failure mid-training, or a measured clock, can end it anywhere after that) — all untrained
// tasks in flight are trained at once, in parallel on the executors. Their end times are then
// known exactly, so no update is ever applied before an earlier-ending one.
//
// Per-device state: what a task's trainer returns as state (e.g. its local model) is kept for
// the device and handed to its next task as named tensors, once the task's event is applied
// (a task cancelled at a deadline leaves the state as it was). It is saved in checkpoints.
#include <functional>
#include <map>
#include <vector>

#include "edgesim/algo/schedule.hpp"
#include "edgesim/io/checkpoint.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {

// The loop's state right after an aggregation: what a checkpoint saves (tensors shared).
struct LoopSnapshot {
  int round = 0;  // the last finished aggregation
  double now = 0;
  Checkpoint loop;  // dispatched, version, in_flight, schedule_state, timer_s; models below
  std::map<std::int64_t, torch::Tensor> start_models;                 // by version
  std::map<std::int64_t, NamedTensors> device_state;                  // by device
};

// One aggregation done: (round, its tasks in record order, updates merged, merge wall seconds).
using RecordAggregation = std::function<void(int, const std::vector<TaskResult>&, std::int64_t, double)>;
using SnapshotSink = std::function<void(LoopSnapshot)>;

// Runs aggregations `first_round`.. run.rounds, or until one ends at or after run.until_virtual_s; `global` and `now` are updated in place. A
// resumed run starts from `resume` (its in-flight tasks retrained, as they were). Returns false
// when a stop signal interrupted it.
bool run_event_loop(const Experiment& e, Algorithm& algorithm, Schedule& schedule, Transport& transport,
                    torch::Tensor& global, double& now, const Checkpoint* resume, const RecordAggregation& record,
                    const SnapshotSink& snapshot);

}  // namespace edgesim
