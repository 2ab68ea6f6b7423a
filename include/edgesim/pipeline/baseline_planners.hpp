#pragma once
// The baselines of issue 13, as other plans on the same model, devices and time model
// (pipeline/plan.hpp). Each returns its plan even when some device cannot hold its part:
// oom_devices then names them (the runtime reports `oom` there), and feasible() is false.
//
//   data_parallel  one stage holding the whole model on every device, the batch split
//                  equally, one micro-batch (conventional data parallelism, EDDL-like).
//   gpipe_even     one device per stage in id order, min(devices, units) stages with an even
//                  split of the units; M is the count with the fewest devices over memory,
//                  then the shortest iteration [choice: GPipe's micro-batch count is a knob].
//   pipedream      PipeDream's planner with its homogeneous-device assumption: the DP run on
//                  a fleet of identical "average" devices (mean speed, memory, links) with
//                  equal shares and PipeDream's objective — the slowest stage's compute plus
//                  all-reduce, or the slowest cut (msr-fiddle/pipedream,
//                  optimizer_graph_hierarchical.py) — for each M; the M whose plan is
//                  fastest on the average fleet; then stage p's devices are the next ones in
//                  id order and the plan is evaluated on the real devices.
//   hetpipe        a hybrid planner that ignores heterogeneity inside a stage: the same DP as
//                  Asteroid over the real devices, but equal shares within every stage
//                  (HetPipe-like). No plan fits: an empty plan.
#include <vector>

#include "edgesim/pipeline/planner.hpp"

namespace edgesim {

PlannedPipeline plan_data_parallel(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);
PlannedPipeline plan_gpipe_even(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);
PlannedPipeline plan_pipedream(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);
PlannedPipeline plan_hetpipe(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);

// The fleet PipeDream's planner assumes: every device the average of `fleet`.
Fleet average_fleet(const Fleet& fleet);

// Asteroid (an empty plan if nothing fits) and every baseline, in that order.
std::vector<PlannedPipeline> plan_all(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);

}  // namespace edgesim
