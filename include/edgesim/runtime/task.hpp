#pragma once
// One device task: what the coordinator asks of a device, and what comes back.
#include <torch/torch.h>

#include <cstdint>

#include "edgesim/io/results.hpp"

namespace edgesim {

// Terms a policy adds to the local objective (beyond cross-entropy).
struct LocalObjective {
  double bn_gamma_l1 = 0;          // λ of Network Slimming's L1 penalty on BatchNorm scales (AdaptCL)
  bool mask_absent_labels = false;  // HeteroFL's masked CE: zero the logits of classes the device lacks
  bool self_distillation = false;   // FjORD: the sampled width learns from the full submodel's output
};

struct TaskOrder {
  std::int64_t device = 0, round = 0;
  torch::Tensor weights;            // flat float32 (sub)model the device starts from
  std::vector<std::int32_t> units;  // kept units per unit group; empty = the full model
  std::int32_t depth = -1;          // blocks kept (model/submodel.hpp); -1 = the whole model
  // The round whose slowdown the device has (slowdown_schedule); 0 = `round`. Asynchronous
  // runs use `round` as the task's random stream and set this to the aggregation it starts in.
  std::int64_t clock_round = 0;
  std::int64_t schedule_round() const { return clock_round > 0 ? clock_round : round; }
  double train_scale = 1.0;         // HeteroFL's scaler (1 / rate) while training
  std::vector<double> dropout_rates;  // FjORD: widths (of the global model) to draw per step
  LocalObjective objective;
};

struct TaskResult {
  std::int64_t device = 0, round = 0;
  TaskStatus status = TaskStatus::kOk;  // kOk or kOom from the executor; the policy may drop
  std::int64_t samples = 0;             // samples processed (epochs × local samples)
  std::int64_t local_samples = 0;       // samples the device owns (FedAvg weight)
  std::int64_t memory_bytes = 0;        // training footprint estimate
  std::int64_t peak_memory_bytes = 0;   // measured by the counting allocator (0 if not trained)
  double train_loss = 0;                // mean loss over the task's steps
  double reference_compute_s = 0;       // compute seconds on the reference device
  std::uint64_t bytes_down = 0, bytes_up = 0;
  torch::Tensor weights;                // trained flat model (undefined when oom)
  torch::Tensor gather;                 // coordinator only: the submodel's gather index (undefined = full)
  // Filled by the coordinator's clock:
  double start_s = 0, end_s = 0, compute_s = 0, download_s = 0, upload_s = 0;
  std::int64_t staleness = 0;
  double rate = 1.0;  // coordinator: the nominal width of the submodel it trained
};

}  // namespace edgesim
