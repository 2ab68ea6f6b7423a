#pragma once
// Moves tasks to the ranks that host their devices and results back. Device d lives on
// executor rank 1 + d mod (size - 1); with a single rank, rank 0 runs tasks itself.
// Each task and each result is one MPI message: a fixed header followed by the flat
// weights, in one contiguous buffer. At most kOrdersAhead orders per executor rank are sent
// and unanswered at a time; a send buffer is freed when its result arrives.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

int host_rank(int device, int world_size);
std::vector<int> hosted_devices(int rank, int world_size, int num_devices);

// Blocks (polling, sleeping up to 1 ms between polls) until a message from `source` with `tag`
// arrives on MPI_COMM_WORLD — -1 for either means any — and returns its bytes; `from` and
// `got_tag` (if not null) get its source and tag. `interruptible`: a stop request
// (runtime/stop_signal.hpp) throws StopRequested while waiting.
std::vector<char> receive_message(int source, int tag, int* from, int* got_tag, bool interruptible);

// Tasks to run: device i's order is made by make(i) only when it is about to be sent, so the
// coordinator holds the weights of a few tasks per executor rank at a time, not of every task
// in flight (its memory must not grow with the device count times the model size).
struct OrderBatch {
  std::vector<std::int64_t> devices;
  std::function<TaskOrder(std::size_t)> make;
};

class Transport {
 public:
  virtual ~Transport() = default;
  // Runs every order; results come back in any order.
  virtual std::vector<TaskResult> run_tasks(const OrderBatch& batch) = 0;
  virtual void shutdown() {}
};

// On rank 0: MPI when world_size > 1, else in-process.
std::unique_ptr<Transport> make_transport(const Experiment& experiment, int world_size);

// On executor ranks: serve tasks until the coordinator says stop.
void serve_tasks(const Experiment& experiment, int rank, int world_size);

}  // namespace edgesim
