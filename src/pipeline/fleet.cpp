#include "edgesim/pipeline/fleet.hpp"

#include <algorithm>
#include <utility>

#include "edgesim/device/clock.hpp"

namespace edgesim {
namespace {

// The calibrated clock's work of units [begin, end) on `share` samples (LayerUnit).
ComputeWork stage_work(const LayerProfile& p, int begin, int end, int share) {
  ComputeWork w;
  for (int u = begin; u < end; ++u) {
    w += p.units[u].work_base;
    w += p.units[u].work_per_sample.scaled(share);
  }
  return w;
}

}  // namespace

Fleet::Fleet(double reference, std::vector<DeviceProfile> d)
    : reference_flops_per_s(reference), devices(std::move(d)), links(links_of(devices)) {}

OpSeconds Fleet::op_seconds(const LayerProfile& p, int d, int begin, int end, int share, Pass pass) const {
  if (!calibrated()) {
    const double work = share * seconds_for(d, p.forward_flops(begin, end));
    return {pass == Pass::kForward ? work : 2 * work, op_overhead_s};
  }
  const ComputeWork all = stage_work(p, begin, end, share);
  ComputeWork w;  // one direction only
  if (pass == Pass::kForward) w.forward = all.forward;
  else w.backward = all.backward;
  return {device_compute_seconds(devices[d], calibrated_reference_seconds(*compute, devices[d], w)), 0.0};
}

double Fleet::update_seconds(const LayerProfile& p, int d, int begin, int end) const {
  if (!calibrated()) return 0;
  ComputeWork w;
  w.steps = 1;
  for (int u = begin; u < end; ++u)
    w.optimizer_floats += p.units[u].work_base.optimizer_floats, w.optimizer_tensors += p.units[u].work_base.optimizer_tensors;
  for (const TiedWeight& t : p.tied)  // a tied copy held here steps too (pipeline/stage_cost.hpp)
    if (t.user_unit >= begin && t.user_unit < end && (t.owner_unit < begin || t.owner_unit >= end))
      w.optimizer_floats += static_cast<double>(t.parameters), w.optimizer_tensors += 1;
  return device_compute_seconds(devices[d], calibrated_reference_seconds(*compute, devices[d], w));
}

StageCompute Fleet::stage_compute(const LayerProfile& p, int begin, int end, const std::vector<int>& ids,
                                  const std::vector<int>& shares) const {
  StageCompute c;
  if (!calibrated()) {  // backward = 2 × forward, each op pays the fixed overhead
    double work = 0;
    for (std::size_t i = 0; i < ids.size(); ++i)
      work = std::max(work, op_seconds(p, ids[i], begin, end, shares[i], Pass::kForward).work);
    c.forward = work + op_overhead_s;
    c.compute = 3 * work + 2 * op_overhead_s;
    return c;
  }
  double backward = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    c.forward = std::max(c.forward, op_seconds(p, ids[i], begin, end, shares[i], Pass::kForward).work);
    backward = std::max(backward, op_seconds(p, ids[i], begin, end, shares[i], Pass::kBackward).work);
    c.update = std::max(c.update, update_seconds(p, ids[i], begin, end));
  }
  c.compute = c.forward + backward;
  return c;
}

SplitCost Fleet::split_cost(const LayerProfile& p, int d, int begin, int end) const {
  if (!calibrated()) {
    // A stage without FLOPs (pooling only) costs no compute; split it by relative speed anyway.
    const double flops = 3 * p.forward_flops(begin, end);
    return {flops > 0 ? seconds_for(d, flops) : devices[d].slowdown, 0.0};
  }
  auto both = [&](int n) {
    return op_seconds(p, d, begin, end, n, Pass::kForward).work + op_seconds(p, d, begin, end, n, Pass::kBackward).work;
  };
  SplitCost s;
  s.fixed = both(0);
  s.per_sample = both(1) - s.fixed;
  if (s.per_sample <= 0) s.per_sample = devices[d].slowdown;  // nothing grows with samples: relative speed
  return s;
}

bool Fleet::same_compute(int a, int b) const {
  const DeviceProfile &x = devices[a], &y = devices[b];
  if (x.slowdown != y.slowdown) return false;
  return !calibrated() || (x.compute_profile == y.compute_profile && x.profile_slowdown == y.profile_slowdown);
}

Fleet Fleet::subset(const std::vector<int>& ids) const {
  Fleet out;
  out.reference_flops_per_s = reference_flops_per_s;
  for (int d : ids) out.devices.push_back(devices[d]), out.links.push_back(links[d]);
  out.op_overhead_s = op_overhead_s;
  out.compute = compute;
  return out;
}

}  // namespace edgesim
