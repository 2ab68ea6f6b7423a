#pragma once
// Runs a pipeline plan (pipeline/plan.hpp) for real: every device of every stage holds its own
// replica of the stage's layers (model/stage.hpp) and its own SGD state; an iteration is M
// micro-batches through the stages in 1F1B order, then per stage an all-reduce of the
// replicas' gradients and one optimizer step on every replica. The replicas live in
// StageWorkers (runtime/stage_worker.hpp): PipelineExecutor is one worker hosting every device,
// in process (a run on one rank, and the unit tests); across MPI ranks each executor rank runs
// a worker for its devices (runtime/pipeline_transport.hpp). What an iteration looks like in
// virtual time (ops, makespan, oom) follows from the plan alone: frame_iteration.
//
// Numerics [choice, documented in docs/ALGORITHMS.md, Asteroid]: device i of a stage gets
// samples [o_i, o_i + share_i) of each micro-batch (o_i = the shares before it, devices in
// plan order); its loss is the mean loss of its samples × share_i / batch, so the gradients
// summed by the all-reduce are those of the iteration's mean loss — what one process gets by
// accumulating (mean loss of each micro-batch) / M over the micro-batches and stepping once.
// BatchNorm normalises with the statistics of each device's share (no synchronised BN, as in
// data-parallel training); BN running statistics of a stage's replicas are averaged at its
// all-reduce so the replicas stay identical. A tied weight used by a stage that does not own
// it (the Transformer's LM head) is a copy there; owner and copy add their gradients (in stage
// order) before both step, so they stay equal.
//
// Time [analytic clock]: the op order and times are schedule_1f1b's (pipeline/schedule_1f1b.hpp,
// the devices' profiles and links through pipeline/stage_cost.hpp); ops run in that virtual-time
// order (ties by stage), each only once its input has been produced. A device's op ends after
// its own share's compute (a stage's op ends when its slowest device's does).
//
// Memory: before an iteration every device's footprint (pipeline/stage_cost.hpp: weights,
// gradients, optimizer state, the in-flight micro-batches' activations) is checked against its
// cap; a device over it makes the iteration `oom` (nothing trains). With `meter_memory`
// (devices.memory = "enforced") the counting allocator also meters every replica
// (runtime/stage_worker.hpp); a replica whose measured peak exceeds its device's cap makes the
// iteration `oom` after its ops ran: nothing is applied (no step; BN statistics restored).
//
// Traffic: each iteration's stage messages (activations, gradients, all-reduce, tied weight)
// as the bytes each device sent and received (the same for any rank count).
#include <vector>

#include "edgesim/model/network.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/plan.hpp"
#include "edgesim/pipeline/schedule_1f1b.hpp"
#include "edgesim/runtime/stage_link.hpp"
#include "edgesim/runtime/stage_worker.hpp"

namespace edgesim {

struct PipelineOpRecord {
  int device = 0, stage = 0, micro_batch = 0;  // micro_batch -1: the all-reduce
  PipelineOpKind kind = PipelineOpKind::kForward;
  double start_s = 0, end_s = 0;  // from the iteration's start
};

struct PipelineIteration {
  bool oom = false;
  std::vector<int> oom_devices;  // over their cap (then nothing ran)
  double loss = 0;               // mean training loss over the iteration's samples
  int samples = 0;
  double time_s = 0;             // makespan of the 1F1B schedule
  std::vector<PipelineOpRecord> ops;  // per device op, in execution order
  std::int64_t bytes_sent = 0, bytes_received = 0;  // stage messages, summed over the devices
  // Per device of the plan (plan order, stage by stage): the estimate and the metered peak
  // (0 when not metered, or when the estimate already made the iteration oom).
  std::vector<int> devices;
  std::vector<std::int64_t> estimated_bytes, peak_bytes;
  bool measured_oom = false;  // oom because a metered peak crossed a cap
};

// Every op of the schedule in one global order: by start time (ties by stage), each op only
// after the ops producing its input. Each rank runs its devices' ops in this order.
std::vector<PipelineOp> execution_order(const Schedule1F1B& schedule, int num_stages);

// The iteration as the plan determines it: oom devices (estimate against caps), makespan,
// the op records in execution order (each device's compute op ends after its own share).
// `order` (if not null) gets execution_order's ops; empty when oom.
// `held` (per device id, if not empty): bytes a device holds besides its stage (another
// stage's backup, pipeline/recovery.hpp), added to its estimate before the cap check.
PipelineIteration frame_iteration(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum,
                                  std::vector<PipelineOp>* order, const std::vector<std::uint64_t>& held = {});

// From every device's report: the metered peaks, and the devices whose peak exceeds their cap
// (then the iteration is oom: oom_devices, measured_oom). Returns whether it may be applied.
// `held` as for frame_iteration: added to the metered peaks (a backup is resident all along).
bool judge_iteration(PipelineIteration& it, const Plan& plan, const Fleet& fleet, const std::vector<ReplicaReport>& reports,
                     const std::vector<std::uint64_t>& held = {});
// Fills loss (micro-batches in order, the last stage's devices in plan order within each) and
// the traffic from every device's report.
void complete_iteration(PipelineIteration& it, const Plan& plan, const std::vector<ReplicaReport>& reports);

class PipelineExecutor {
 public:
  // `spec` and `profile` must outlive the executor; the replicas start from `initial`'s weights.
  PipelineExecutor(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const Fleet& fleet,
                   const SgdSettings& sgd, const SpecNet& initial, bool meter_memory = false);
  ~PipelineExecutor();
  PipelineExecutor(const PipelineExecutor&) = delete;
  PipelineExecutor& operator=(const PipelineExecutor&) = delete;

  // One iteration on plan.batch() samples: inputs [batch, ...], targets [batch, ...].
  PipelineIteration run_iteration(const torch::Tensor& inputs, const torch::Tensor& targets);

  // The trained weights, written into a whole model of the same spec (replica 0 of each stage).
  void copy_into(SpecNet& whole) const;
  const Plan& plan() const { return plan_; }
  // Fewer devices in the same stages (StageWorker::reshare).
  void reshare(const Plan& plan);
  // Another plan: the replicas rebuilt from `state` (StageWorker::snapshot's names).
  void install(const Plan& plan, const std::map<std::string, torch::Tensor>& state);
  void take_backup() { worker_->take_backup(); }
  std::map<std::string, torch::Tensor> snapshot(const std::vector<int>& from_backup) const {
    return worker_->snapshot(from_backup);
  }
  // Bytes each device holds besides its stage (backups), counted in its footprint.
  void set_held(const std::vector<std::uint64_t>& held) { held_ = held; }

 private:
  const ModelSpec& spec_;
  const LayerProfile& profile_;
  Plan plan_;
  bool meter_memory_;
  std::vector<std::uint64_t> held_;
  Fleet fleet_;
  SgdSettings sgd_;
  LocalStageLink link_;
  std::unique_ptr<StageWorker> worker_;
};

}  // namespace edgesim
