#include "edgesim/app/plan_command.hpp"

#include <iostream>

#include "edgesim/algo/catalog.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/common/units.hpp"
#include "edgesim/pipeline/run_setup.hpp"
#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

int run_plan_command(const PlanCommand& command) {
  const ExperimentConfig cfg = load_config(command.config, command.sets);
  const AlgorithmInfo* info = find_algorithm(cfg.algorithm.name);
  if (!info || info->schedule != "pipeline")
    throw InputError(cfg.source + ": key 'algorithm.name': '" + cfg.algorithm.name +
                     "' is not a pipeline algorithm; `edgesim plan` needs one (asteroid)");
  const Experiment experiment = Experiment::build(cfg);
  const PipelineSetup setup =
      pipeline_setup(cfg, experiment.model, experiment.devices, experiment.device_set);
  std::cout << "model " << experiment.model.name << ": " << setup.profile.size() << " planning units ("
            << cfg.pipeline.cuts << "), batch " << setup.options.batch_size << ", " << setup.fleet.size()
            << " devices\n";
  for (const NamedPlanner& p : planner_table()) {
    if (!command.all && p.name != cfg.pipeline.planner) continue;
    try {
      std::cout << describe_planned(plan_named(p.name, setup), setup);
    } catch (const PlanInfeasible& e) {
      std::cout << p.name << ": no plan fits (" << e.what() << ")\n";
    }
  }
  return 0;
}

}  // namespace edgesim
