#pragma once
// The 1F1B schedule of one iteration of a plan, op by op (PipeDream-Flush / DAPPLE): stage p
// of S runs min(S − p − 1, M) warm-up forwards, then alternates one forward and one backward,
// then the remaining backwards, then its all-reduce. An op starts when its stage is free and
// its input has arrived: a forward needs the previous stage's activations, a backward the next
// stage's gradients. A transfer leaves when its op ends, occupies its cut (in that direction)
// for its busy time — transfers on one cut queue — and arrives its latency later. Durations
// and transfer times are StageCost's (pipeline/stage_cost.hpp), so this is the exact makespan
// of the schedule the closed form in plan.hpp approximates, and the op timeline the runtime's
// results will record.
#include <vector>

#include "edgesim/pipeline/plan.hpp"

namespace edgesim {

enum class PipelineOpKind { kForward, kBackward, kAllReduce };

struct PipelineOp {
  int stage = 0, micro_batch = 0;  // micro_batch -1 for the all-reduce
  PipelineOpKind kind = PipelineOpKind::kForward;
  double start_s = 0, end_s = 0;
};

struct Schedule1F1B {
  std::vector<PipelineOp> ops;  // per stage in execution order, stage by stage
  double makespan_s = 0;
};

Schedule1F1B schedule_1f1b(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);

}  // namespace edgesim
