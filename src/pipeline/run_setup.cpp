#include "edgesim/pipeline/run_setup.hpp"

#include <cstdio>
#include <memory>
#include <sstream>

#include "edgesim/common/error.hpp"
#include "edgesim/common/units.hpp"
#include "edgesim/pipeline/baseline_planners.hpp"

namespace edgesim {

PipelineSetup pipeline_setup(const ExperimentConfig& cfg, const ModelSpec& spec, const std::vector<DeviceProfile>& devices,
                             const DeviceSet& set) {
  PipelineSetup s;
  s.spec = spec;
  s.profile = profile_layers(spec, cfg.pipeline.cuts == "layers" ? CutPoints::kLayers : CutPoints::kBlocks);
  for (const DeviceProfile& d : devices)
    if (!d.slowdown_schedule.empty())
      // The planner prices every device at one speed for the whole run; a schedule that changed
      // it mid-run would need a replan the pipeline does not do (docs/ALGORITHMS.md, Asteroid).
      throw InputError(cfg.devices.profiles + ": device class '" + d.name +
                       "': slowdown_schedule is not read by pipeline runs (algorithm.name = \"" + cfg.algorithm.name +
                       "\"): each device keeps one speed; remove the schedule");
  s.fleet = Fleet(set.reference_flops_per_s, devices);
  s.fleet.op_overhead_s = cfg.pipeline.op_overhead_s;  // the config allows it with the analytic clock only
  if (cfg.clock.mode == "calibrated") {
    // The profiles Experiment::build loaded (clock.profile or the set's), as the federated clock uses them.
    for (const DeviceProfile& d : devices) {
      double to_reference = 1.0;
      if (!compute_profile_of(set, d, &to_reference))
        throw InputError(cfg.source + ": key 'clock.mode': \"calibrated\" needs a compute profile for device class '" +
                         d.name + "': set clock.profile or reference.compute_profile in " + cfg.devices.profiles);
    }
    s.fleet.compute = std::make_shared<const DeviceSet>(set);
  }
  PlannerOptions& o = s.options;
  o.batch_size = cfg.algorithm.batch_size;
  o.max_micro_batches = cfg.pipeline.max_micro_batches;
  o.micro_batches = cfg.pipeline.micro_batches;
  o.max_stages = cfg.pipeline.max_stages;
  o.momentum = cfg.algorithm.momentum > 0;
  o.grouping = cfg.pipeline.grouping == "subsets"       ? DeviceGrouping::kSubsets
               : cfg.pipeline.grouping == "sorted_runs" ? DeviceGrouping::kSortedRuns
                                                        : DeviceGrouping::kAuto;
  return s;
}

const std::vector<NamedPlanner>& planner_table() {
  static const std::vector<NamedPlanner> table = {
      {"asteroid", plan_asteroid},   {"data_parallel", plan_data_parallel}, {"gpipe", plan_gpipe_even},
      {"pipedream", plan_pipedream}, {"hetpipe", plan_hetpipe},
  };
  return table;
}

PlannedPipeline plan_named(const std::string& name, const PipelineSetup& setup) {
  for (const NamedPlanner& p : planner_table())
    if (p.name == name) {
      PlannedPipeline planned = p.plan(setup.profile, setup.fleet, setup.options);
      planned.planner = name;
      return planned;
    }
  throw std::invalid_argument("no pipeline planner '" + name + "'");
}

std::string describe_planned(const PlannedPipeline& planned, const PipelineSetup& setup) {
  std::ostringstream out;
  const Plan& plan = planned.plan;
  char line[256];
  if (plan.stages.empty()) {
    out << planned.planner << ": no plan\n";
    return out.str();
  }
  std::snprintf(line, sizeof line, "%s: %d stage(s), %d micro-batches x %d samples, predicted %.6g s per iteration, %.6g samples/s%s\n",
                planned.planner.c_str(), plan.num_stages(), plan.micro_batches, plan.micro_batch, planned.iteration_s,
                plan.batch() / planned.iteration_s, planned.oom_devices.empty() ? "" : " — OOM on some devices");
  out << line;
  for (int p = 0; p < plan.num_stages(); ++p) {
    const StagePlan& sp = plan.stages[p];
    const int first = setup.profile.units[sp.begin].begin, last = setup.profile.units[sp.end - 1].end - 1;
    out << "  stage " << p << ": layers " << first << "-" << last << " (" << setup.spec.layers[first].name << " .. "
        << setup.spec.layers[last].name << ")\n";
    for (std::size_t i = 0; i < sp.devices.size(); ++i) {
      const int d = sp.devices[i];
      const std::uint64_t need = memory_of(plan, p, static_cast<int>(i), setup.profile, setup.options.momentum).total();
      const std::uint64_t cap = setup.fleet.devices[d].memory_cap_bytes;
      out << "    device " << d << " (" << setup.fleet.devices[d].name << "): share " << sp.shares[i] << ", memory "
          << format_bytes(need) << " of " << (cap == kNoMemoryCap ? std::string("unlimited") : format_bytes(cap))
          << (need > cap ? "  OOM" : "") << "\n";
    }
  }
  return out.str();
}

}  // namespace edgesim
