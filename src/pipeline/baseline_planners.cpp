#include "edgesim/pipeline/baseline_planners.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace edgesim {
namespace {

// Equal shares of the micro-batch, memory not consulted (the baselines report overflows).
std::vector<int> equal_shares(int micro_batch, int devices) {
  return split_equal(micro_batch, std::vector<int>(devices, std::numeric_limits<int>::max()));
}

PlannedPipeline evaluated(const char* name, Plan plan, const LayerProfile& profile, const Fleet& fleet,
                          const PlannerOptions& o) {
  PlannedPipeline out;
  out.planner = name;
  out.plan = std::move(plan);
  out.iteration_s = iteration_time(out.plan, profile, fleet);
  out.oom_devices = over_memory(out.plan, profile, fleet, o.momentum);
  return out;
}

bool better(const PlannedPipeline& a, const PlannedPipeline& b) {
  if (a.oom_devices.size() != b.oom_devices.size()) return a.oom_devices.size() < b.oom_devices.size();
  return a.iteration_s < b.iteration_s;
}

}  // namespace

PlannedPipeline plan_data_parallel(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& o) {
  const int n = std::min(fleet.size(), o.batch_size);  // a device without a sample would not train
  Plan plan;
  plan.micro_batch = o.batch_size, plan.micro_batches = 1;
  StagePlan s;
  s.begin = 0, s.end = profile.size();
  for (int d = 0; d < n; ++d) s.devices.push_back(d);
  s.shares = equal_shares(o.batch_size, n);
  plan.stages.push_back(s);
  return evaluated("data_parallel", plan, profile, fleet, o);
}

PlannedPipeline plan_gpipe_even(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& o) {
  const int stages = std::min(fleet.size(), profile.size());
  PlannedPipeline best;
  for (int m : micro_batch_counts(o)) {
    Plan plan;
    plan.micro_batch = o.batch_size / m, plan.micro_batches = m;
    for (int p = 0; p < stages; ++p)
      plan.stages.push_back({p * profile.size() / stages, (p + 1) * profile.size() / stages, {p}, {plan.micro_batch}});
    PlannedPipeline candidate = evaluated("gpipe_even", plan, profile, fleet, o);
    if (best.plan.stages.empty() || better(candidate, best)) best = std::move(candidate);
  }
  return best;
}

Fleet average_fleet(const Fleet& fleet) {
  DeviceProfile avg;
  avg.name = "average";
  double speed = 0, memory = 0, up = 0, down = 0, latency = 0;
  for (int d = 0; d < fleet.size(); ++d) {
    speed += 1.0 / fleet.devices[d].slowdown;
    memory += static_cast<double>(fleet.devices[d].memory_cap_bytes);
    up += fleet.links[d].uplink_mbps, down += fleet.links[d].downlink_mbps, latency += fleet.links[d].latency_s;
  }
  const double n = fleet.size();
  avg.slowdown = n / speed;
  std::shared_ptr<const DeviceSet> fleet_compute;
  avg.memory_cap_bytes = static_cast<std::uint64_t>(memory / n);
  avg.uplink_mbps = up / n, avg.downlink_mbps = down / n, avg.latency_s = latency / n;
  if (fleet.calibrated()) {
    // The calibrated clock's average device [choice]: per coefficient of the compute profiles
    // (each device's times its factor and slowdown: what it pays per FLOP, byte, kernel, ...),
    // the devices' mean speed — the harmonic mean of what they pay, as the analytic average's
    // slowdown is; a term free on some device is free on average. Priced as a reference profile.
    auto set = std::make_shared<DeviceSet>();
    ComputeProfile mean;
    mean.name = "average";
    std::vector<double*> out = profile_coefficients(mean);
    std::vector<double> speed_sum(out.size(), 0.0);
    for (int d = 0; d < fleet.size(); ++d) {
      double to_reference = 1.0;
      ComputeProfile p = *compute_profile_of(*fleet.compute, fleet.devices[d], &to_reference);
      const std::vector<double*> c = profile_coefficients(p);
      for (std::size_t i = 0; i < c.size(); ++i)
        speed_sum[i] += *c[i] > 0 ? 1.0 / (*c[i] * to_reference * fleet.devices[d].slowdown) : HUGE_VAL;
    }
    for (std::size_t i = 0; i < out.size(); ++i)
      *out[i] = std::isinf(speed_sum[i]) ? 0.0 : n / speed_sum[i] / avg.slowdown;
    set->compute_profiles.push_back(mean);
    set->reference_compute_profile = 0;
    avg.compute_profile = -1;
    fleet_compute = set;
  }
  Fleet out(fleet.reference_flops_per_s, std::vector<DeviceProfile>(fleet.size(), avg));
  out.op_overhead_s = fleet.op_overhead_s;
  out.compute = fleet_compute;
  return out;
}

PlannedPipeline plan_pipedream(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& o) {
  const Fleet avg = average_fleet(fleet);
  std::optional<Plan> chosen;
  double chosen_s = 0;
  for (int m : micro_batch_counts(o)) {
    PlannerOptions po = o;
    po.split = SplitPolicy::kEqual;
    po.objective = PlanObjective::kSteadyState;
    po.grouping = DeviceGrouping::kSubsets;  // one kind of device: N + 1 states
    po.micro_batches = m;
    std::optional<Plan> plan = plan_by_dp(profile, avg, po);
    if (!plan) continue;
    const double t = iteration_time(*plan, profile, avg);
    if (!chosen || t < chosen_s) chosen = std::move(plan), chosen_s = t;
  }
  if (!chosen) {
    PlannedPipeline none;
    none.planner = "pipedream";
    return none;
  }
  int next = 0;  // the homogeneous plan names no device: stage by stage, the next ones by id
  for (StagePlan& s : chosen->stages) {
    for (int& d : s.devices) d = next++;
    s.shares = equal_shares(chosen->micro_batch, static_cast<int>(s.devices.size()));
  }
  return evaluated("pipedream", *chosen, profile, fleet, o);
}

PlannedPipeline plan_hetpipe(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& o) {
  PlannerOptions ho = o;
  ho.split = SplitPolicy::kEqual;
  ho.objective = PlanObjective::kFlush1F1B;
  PlannedPipeline out;
  out.planner = "hetpipe";
  if (std::optional<Plan> plan = plan_by_dp(profile, fleet, ho)) out = evaluated("hetpipe", *plan, profile, fleet, o);
  return out;
}

std::vector<PlannedPipeline> plan_all(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& o) {
  std::vector<PlannedPipeline> all;
  try {
    all.push_back(plan_asteroid(profile, fleet, o));
  } catch (const PlanInfeasible&) {
    PlannedPipeline none;
    none.planner = "asteroid";
    all.push_back(none);
  }
  all.push_back(plan_data_parallel(profile, fleet, o));
  all.push_back(plan_gpipe_even(profile, fleet, o));
  all.push_back(plan_pipedream(profile, fleet, o));
  all.push_back(plan_hetpipe(profile, fleet, o));
  return all;
}

}  // namespace edgesim
