#pragma once
// The rank-local half of a pipeline run (runtime/pipeline_executor.hpp has the whole picture):
// the replicas of the stages whose devices this process hosts, each with its own SGD state,
// running their ops of one iteration in the given global execution order and blocking on
// their inputs through a StageLink (runtime/stage_link.hpp).
//
// Traffic: device i of stage p reads samples [o_i, o_i + share_i) of each micro-batch; it gets
// them from every device of stage p − 1 whose samples overlap its own, one message per such
// pair (for one device per stage: one message per cut, micro-batch and direction) holding the
// crossing tensors of the overlap; gradients go back the same way. The all-reduce of a
// stage is a gather to its first device, a sum in device order, and the sum sent back to each
// device; BN running statistics are averaged the same way. A tied weight's copy and its owner
// exchange their (stage-summed) gradients, each device adding them in stage order. Every sum
// is in a fixed order, so the weights are bit-identical however devices sit on ranks.
//
// Memory (`meter_memory`): each replica has its own MemoryAccount (device/memory_meter.hpp),
// charging while the replica builds its layers and runs its ops, so its measured footprint
// (weights, gradients, optimizer state, the activations and received tensors it holds) is its
// own even when replicas share a rank. An iteration runs its ops first (run_ops), then is
// applied (optimizer steps) or discarded (gradients dropped, BN statistics restored): the
// caller decides from the reports, e.g. a replica whose peak exceeded its cap makes it `oom`.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "edgesim/model/network.hpp"
#include "edgesim/model/stage.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/plan.hpp"
#include "edgesim/pipeline/schedule_1f1b.hpp"
#include "edgesim/runtime/stage_link.hpp"

namespace edgesim {

struct SgdSettings {
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
};

// What one device reports after an iteration.
struct ReplicaReport {
  int device = 0;
  std::vector<double> loss_terms;  // last stage: per micro-batch, its samples' mean loss × share
  std::int64_t bytes_sent = 0, bytes_received = 0;  // stage messages of this iteration
  std::int64_t peak_memory_bytes = 0;  // metered peak in this iteration (0: not metered)
};

class StageWorker {
 public:
  // Replicas for the plan's devices for which `hosted(device)` is true; they start from
  // `initial`'s weights. `spec` must outlive the worker; `link` too.
  StageWorker(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const SgdSettings& sgd,
              const SpecNet& initial, const std::vector<int>& hosted_devices, StageLink& link, bool meter_memory = false);
  // The same from a snapshot (snapshot()'s names): weights and buffers by whole-model name, each
  // parameter's momentum under "momentum:" + its name (none: the optimizer starts fresh, as
  // before any step). A pipeline rebuilt on another plan goes on exactly where it stopped.
  StageWorker(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const SgdSettings& sgd,
              const std::map<std::string, torch::Tensor>& state, const std::vector<int>& hosted_devices, StageLink& link,
              bool meter_memory = false);
  ~StageWorker();
  StageWorker(const StageWorker&) = delete;
  StageWorker& operator=(const StageWorker&) = delete;

  // One iteration: `order` is every op of the plan in a global order in which each op comes
  // after the ops producing its inputs (pipeline_executor.hpp: execution_order). `inputs` and
  // `targets` are the whole batch (only first- and last-stage replicas read them). Returns one
  // report per hosted replica, in device order. Then `finish` must follow.
  std::vector<ReplicaReport> run_ops(const std::vector<PipelineOp>& order, const torch::Tensor& inputs,
                                     const torch::Tensor& targets);
  // apply: every replica steps; else the iteration leaves no trace (gradients zeroed, BN
  // running statistics as before it).
  void finish(bool apply);

  // The same stages and micro-batches with fewer devices (a fault's recovery,
  // pipeline/fault_schedule.hpp): the replicas of devices no longer in the plan are dropped,
  // the others keep their weights and optimizer state and take their new shares.
  void reshare(const Plan& plan);

  // The weights and buffers of each stage whose first device is hosted here, by whole-model
  // name (tied copies left out: the owner's stage has the weight).
  std::map<std::string, torch::Tensor> first_replica_state() const;
  // Writes them into a whole model of the same spec.
  void copy_into(SpecNet& whole) const;
  // Every hosted replica keeps a copy of its weights, buffers and momentum: the backup its stage
  // has on the next stage's device (pipeline/recovery.hpp; the simulator keeps the copy with the
  // replica, not metered: the holder's memory is charged by the estimate).
  void take_backup();
  // The state of each stage whose first device is hosted here, by whole-model name (momentum
  // as "momentum:" + name): the current one, or for the stages in `from_backup` the copy of
  // its last take_backup() (std::logic_error if there is none).
  std::map<std::string, torch::Tensor> snapshot(const std::vector<int>& from_backup) const;
  bool hosts_any() const;

 private:
  struct Replica;
  struct Stage;
  using Init = std::function<void(Replica&)>;
  void build(const LayerProfile& profile, const std::vector<int>& hosted, bool meter_memory, const Init& init);
  void forward(int p, int m, const torch::Tensor& inputs, const torch::Tensor& targets);
  void backward(int p, int m);
  void allreduce(int p);
  void exchange_tied();
  const ModelSpec& spec_;
  Plan plan_;
  SgdSettings sgd_;
  StageLink& link_;
  std::vector<Stage> stages_;
  struct TiedPair {
    int owner_stage, owner_param, user_stage, user_param;
  };
  std::vector<TiedPair> tied_;
};

}  // namespace edgesim
