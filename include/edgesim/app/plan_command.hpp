#pragma once
// `edgesim plan CONFIG.toml`: the pipeline plans of a pipeline run's config (algorithm.name =
// "asteroid", pipeline.* keys) — for the configured planner, or with --all for Asteroid and
// every baseline — printed with stages, layers, devices, shares, the predicted iteration time
// and each device's memory against its cap. Needs no MPI; bad input exits 2.
#include <string>
#include <vector>

namespace edgesim {

struct PlanCommand {
  std::string config;
  std::vector<std::string> sets;
  bool all = false;
};

int run_plan_command(const PlanCommand& command);

}  // namespace edgesim
