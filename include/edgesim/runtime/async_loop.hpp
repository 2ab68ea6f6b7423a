#pragma once
// The coordinator's loop for asynchronous policies (FedAsync, FedBuff).
#include <torch/torch.h>

#include <functional>
#include <map>
#include <vector>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/io/checkpoint.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {

// The state of an asynchronous run right after an aggregation (no update buffered): what a
// checkpoint saves. Tensors are shared, not copied; they are never modified in place.
struct AsyncSnapshot {
  int round = 0;  // the last finished aggregation
  double now = 0;
  std::int64_t dispatched = 0, version = 0;
  std::vector<Checkpoint::InFlight> in_flight;
  std::map<std::int64_t, torch::Tensor> start_models;  // by version
};

// One aggregation done: (round, the tasks finished since the last one in finish order,
// updates applied, aggregation wall seconds) — the coordinator evaluates and records it.
using RecordRound = std::function<void(int, const std::vector<TaskResult>&, std::int64_t, double)>;
using SnapshotSink = std::function<void(AsyncSnapshot)>;

// The asynchronous loop (FedAsync, FedBuff): `concurrency` devices always training; finished
// tasks are handed to the policy in virtual-time order (end time, then device), whatever order
// the executors finish in. Every task still in flight has a fixed starting model, so whenever
// the earliest one is untrained, all untrained ones train at once, in parallel on the
// executors. `snapshot` receives the state after every aggregation; a resumed run starts from
// `resume` and retrains the tasks that had been trained. Returns false when a stop signal
// interrupted it.
bool run_async(const Experiment& e, Algorithm& algorithm, Transport& transport, torch::Tensor& global, double& now,
               const Checkpoint* resume, const RecordRound& record_round, const SnapshotSink& snapshot);

}  // namespace edgesim
