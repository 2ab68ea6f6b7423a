#pragma once
// Runs a pipeline plan (pipeline/plan.hpp) for real, in one process: every device of every
// stage holds its own replica of the stage's layers (model/stage.hpp) and its own SGD state;
// an iteration is M micro-batches through the stages in 1F1B order, then per stage an
// all-reduce of the replicas' gradients and one optimizer step on every replica.
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
// cap; a device over it makes the iteration `oom` (nothing trains). The counting allocator
// does not yet meter the replicas (docs/ALGORITHMS.md: what is left).
#include <vector>

#include "edgesim/model/network.hpp"
#include "edgesim/model/stage.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/plan.hpp"
#include "edgesim/pipeline/schedule_1f1b.hpp"

namespace edgesim {

struct SgdSettings {
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
};

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
};

class PipelineExecutor {
 public:
  // `spec` and `profile` must outlive the executor; the replicas start from `initial`'s weights.
  PipelineExecutor(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const Fleet& fleet,
                   const SgdSettings& sgd, const SpecNet& initial);
  ~PipelineExecutor();
  PipelineExecutor(const PipelineExecutor&) = delete;
  PipelineExecutor& operator=(const PipelineExecutor&) = delete;

  // One iteration on plan.batch() samples: inputs [batch, ...], targets [batch, ...].
  PipelineIteration run_iteration(const torch::Tensor& inputs, const torch::Tensor& targets);

  // The trained weights, written into a whole model of the same spec (replica 0 of each stage).
  void copy_into(SpecNet& whole) const;
  const Plan& plan() const { return plan_; }

 private:
  struct Replica;
  struct Stage;
  const ModelSpec& spec_;
  const LayerProfile& profile_;
  Plan plan_;
  Fleet fleet_;
  SgdSettings sgd_;
  std::vector<Stage> stages_;
};

}  // namespace edgesim
