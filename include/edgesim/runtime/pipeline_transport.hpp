#pragma once
// Where a pipeline run's replicas live and how rank 0 drives them. With one rank,
// PipelineExecutor (runtime/pipeline_executor.hpp) runs every replica in process. With R > 1
// ranks, device d's replica lives on executor rank 1 + d mod (R − 1), as tasks do
// (runtime/transport.hpp), in a StageWorker (runtime/stage_worker.hpp) that exchanges
// activations and gradients with the other ranks directly (runtime/stage_link.hpp); rank 0
// only coordinates: it sends the plan once, then per iteration one command to every executor
// rank and gets back each device's report (its loss terms, traffic and metered peak), then
// tells them to apply or discard the iteration, and for an evaluation
// the weights of each stage's first device. It holds the whole model only for evaluation.
//
// Every rank draws the same batches (runtime/batch_stream.hpp) and frames the same iteration
// (frame_iteration), so an executor needs nothing per iteration but the go-ahead.
#include <memory>

#include "edgesim/pipeline/run_setup.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/pipeline_executor.hpp"

namespace edgesim {

class PipelineRunner {
 public:
  virtual ~PipelineRunner() = default;
  // Iteration `iteration` (from 1) on its batch (the in-process runner trains on it; over MPI
  // the executor ranks draw the same batch themselves, by the iteration's number: a restart
  // runs earlier iterations again).
  virtual PipelineIteration run_iteration(const torch::Tensor& inputs, const torch::Tensor& targets, int iteration) = 0;
  // The trained weights into a whole model of the run's spec.
  virtual void copy_into(SpecNet& whole) = 0;
  // Fewer devices in the same stages, after a fault (StageWorker::reshare).
  virtual void reshare(const Plan& plan) = 0;
  // Recovery (pipeline/recovery.hpp): every replica's backup copy refreshed
  // (StageWorker::take_backup); the whole state, the stages in `from_backup` from their backup
  // (StageWorker::snapshot; over MPI gathered from the executors); another plan installed,
  // every replica rebuilt from `state`.
  virtual void take_backup() = 0;
  virtual std::map<std::string, torch::Tensor> snapshot(const std::vector<int>& from_backup) = 0;
  virtual void install(const Plan& plan, const std::map<std::string, torch::Tensor>& state) = 0;
  // Bytes each device holds besides its stage (backups), counted in its footprint (per device id;
  // empty: none).
  virtual void set_held(const std::vector<std::uint64_t>& held) = 0;
  // Ends the executor ranks' service (MPI); idempotent.
  virtual void finish() {}
};

// world_size 1: in process; otherwise rank 0's side, which first sends the plan to every
// executor rank (they wait for it in serve_pipeline). `meter_memory` (devices.memory =
// "enforced"): the replicas are metered and a peak over its cap makes the iteration oom
// (runtime/pipeline_executor.hpp); the executor ranks read the same key.
std::unique_ptr<PipelineRunner> make_pipeline_runner(const PipelineSetup& setup, const Plan& plan, const SgdSettings& sgd,
                                                     const SpecNet& initial, int world_size, bool meter_memory);

// Rank 0 could not start the run (bad input): tell the executor ranks to end.
void cancel_pipeline(int world_size);

// Executor ranks of a pipeline run: wait for the plan (or a cancel), then serve iterations
// until rank 0 says stop.
void serve_pipeline(const Experiment& experiment, int rank, int world_size);

// The model a pipeline run starts from: the whole network built from the (seed, model-init)
// stream, the same on every rank.
SpecNet initial_pipeline_model(const Experiment& experiment);

}  // namespace edgesim
