#pragma once
// What a pipeline run plans with, from its config (pipeline.* keys, docs/CONFIG.md): the
// model's layer profile at the configured cut points, the fleet (the run's devices and links,
// the reference throughput and pipeline.op_overhead_s, or the calibrated clock's compute profiles) and the planner options (batch =
// algorithm.batch_size, micro-batches, stages, device grouping, momentum from algorithm.momentum).
// The planners are looked up by their config name in a table (asteroid first, then the
// baselines, pipeline/baseline_planners.hpp), and a plan is rendered for `edgesim plan`.
#include <functional>
#include <string>
#include <vector>

#include "edgesim/io/config.hpp"
#include "edgesim/pipeline/planner.hpp"

namespace edgesim {

struct PipelineSetup {
  ModelSpec spec;
  LayerProfile profile;
  Fleet fleet;
  PlannerOptions options;
};

// `set`: the run's device set, with the compute profiles Experiment::build loaded (the fleet
// prices ops by them under clock.mode = "calibrated"; else by set.reference_flops_per_s).
PipelineSetup pipeline_setup(const ExperimentConfig& cfg, const ModelSpec& spec, const std::vector<DeviceProfile>& devices,
                             const DeviceSet& set);

using PlannerFn = std::function<PlannedPipeline(const LayerProfile&, const Fleet&, const PlannerOptions&)>;
struct NamedPlanner {
  std::string name;  // pipeline.planner
  PlannerFn plan;
};
const std::vector<NamedPlanner>& planner_table();

// The plan of planner `name`. Asteroid with nothing that fits throws PlanInfeasible; a baseline
// returns its plan with oom_devices set (or no stages).
PlannedPipeline plan_named(const std::string& name, const PipelineSetup& setup);

// Several lines: the planner, M x micro-batch, predicted iteration time and throughput, then per
// stage its layers (spec names), and per device its share and memory against its cap.
std::string describe_planned(const PlannedPipeline& planned, const PipelineSetup& setup);

}  // namespace edgesim
