// Pipeline runs under the calibrated clock (issue 15): a stage's ops are priced by the same
// per-layer costs as a federated task (device/compute_work.hpp's layer_work, a compute
// profile), each device at its own share, so the per-kernel cost is paid once per op; Algorithm
// 1 minimises the affine stage time; the DP stays exact; a per-kernel cost changes the plan.
#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <numeric>

#include "edgesim/device/compute_profile.hpp"
#include "edgesim/device/compute_work.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/pipeline/baseline_planners.hpp"
#include "edgesim/pipeline/exhaustive_planner.hpp"
#include "edgesim/pipeline/planner.hpp"

using namespace edgesim;

namespace {

constexpr std::uint64_t kPlenty = std::uint64_t(1) << 40;

DeviceProfile device(double slowdown) {
  DeviceProfile d;
  d.name = "d";
  d.slowdown = slowdown, d.memory_cap_bytes = kPlenty;
  d.uplink_mbps = d.downlink_mbps = 1000, d.latency_s = 0;
  return d;
}

// Known coefficients, a different one per class, direction and term.
ComputeProfile known_profile(double kernel_s) {
  ComputeProfile p;
  for (int c = 0; c < kOpClasses; ++c) {
    p.forward[c] = {1.0 / (1e10 * (c + 1)), 1.0 / (4e9 * (c + 1)), kernel_s * (c + 1), 1.0 / (3e8 * (c + 1))};
    p.backward[c] = {1.0 / (5e9 * (c + 1)), 1.0 / (2e9 * (c + 1)), 2 * kernel_s * (c + 1), 1.0 / (2e8 * (c + 1))};
  }
  p.step_s = 4e-5;
  p.s_per_optimizer_float = 1e-9, p.s_per_optimizer_tensor = 3e-6;
  p.task_s = 1, p.s_per_setup_float = 1, p.s_per_setup_tensor = 1;  // never charged to a pipeline op
  return p;
}

// Devices priced by `profile` as the reference (clock.profile): each the profile × its slowdown.
Fleet calibrated_fleet(const std::vector<double>& slowdowns, const ComputeProfile& profile) {
  std::vector<DeviceProfile> d;
  for (double s : slowdowns) d.push_back(device(s));
  Fleet f(1e11, d);
  auto set = std::make_shared<DeviceSet>();
  set->reference_flops_per_s = 1e11;
  set->compute_profiles = {profile};
  set->reference_compute_profile = 0;
  f.compute = set;
  return f;
}

// The independent sum: every spec layer of units [begin, end), layer_work at `share`, priced
// term by term by its class's forward or backward coefficients (every layer trains).
double by_hand(const ModelSpec& spec, const LayerProfile& p, int begin, int end, int share, bool forward,
               const ComputeProfile& profile, double slowdown) {
  double s = 0;
  for (int l = p.units[begin].begin; l < p.units[end - 1].end; ++l) {
    OpClass c;
    if (!op_class_of(spec, l, &c)) continue;
    const OpWork w = layer_work(spec, l, share);
    const OpSpeed& k = (forward ? profile.forward : profile.backward)[int(c)];
    s += w.flops * k.s_per_flop + w.bytes * k.s_per_byte + w.kernels * k.s_per_kernel + w.positions * k.s_per_position;
  }
  return s * slowdown;
}

// The CNN at every layer cut, on two devices (slowdowns 1 and 3) priced by known_profile.
struct CnnCase {
  ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  LayerProfile p = profile_layers(cnn);
  ComputeProfile profile = known_profile(2e-4);
  Fleet fleet = calibrated_fleet({1.0, 3.0}, profile);
};

}  // namespace

TEST_CASE("calibrated pipeline: a stage's op is its layers' layer_work priced by the profile, at the device's own share",
          "[pipeline][calibrated]") {
  const CnnCase k;
  const auto& [cnn, p, profile, fleet] = k;
  const int b = 1, e = p.size() - 1;  // most of the CNN: convolutions, pooling, linear layers
  for (int d : {0, 1})
    for (int n : {1, 7}) {
      INFO("device " << d << ", share " << n);
      const double slowdown = fleet.devices[d].slowdown;
      const OpSeconds f = fleet.op_seconds(p, d, b, e, n, Pass::kForward);
      const OpSeconds g = fleet.op_seconds(p, d, b, e, n, Pass::kBackward);
      CHECK(f.overhead == 0);
      CHECK(f.work == Approx(by_hand(cnn, p, b, e, n, true, profile, slowdown)).epsilon(1e-12));
      CHECK(g.work == Approx(by_hand(cnn, p, b, e, n, false, profile, slowdown)).epsilon(1e-12));
    }
  // The per-kernel (and weight-byte) cost is paid once per op: 7 samples cost less than 7 × one.
  const double one = fleet.op_seconds(p, 0, b, e, 1, Pass::kForward).work;
  const double seven = fleet.op_seconds(p, 0, b, e, 7, Pass::kForward).work;
  double kernels = 0;
  for (int l = p.units[b].begin; l < p.units[e - 1].end; ++l) {
    OpClass c;
    if (op_class_of(cnn, l, &c)) kernels += layer_work(cnn, l, 1).kernels * profile.forward[int(c)].s_per_kernel;
  }
  CHECK(kernels > 0);
  CHECK(seven < 7 * one - 6 * kernels * (1 - 1e-9));
  // A profile with nothing but the per-kernel cost: the same seconds for any share.
  ComputeProfile only_kernels;
  for (int c = 0; c < kOpClasses; ++c) only_kernels.forward[c].s_per_kernel = profile.forward[c].s_per_kernel;
  const Fleet kernel_fleet = calibrated_fleet({1.0}, only_kernels);
  CHECK(kernel_fleet.op_seconds(p, 0, b, e, 1, Pass::kForward).work == Approx(kernels).epsilon(1e-12));
  CHECK(kernel_fleet.op_seconds(p, 0, b, e, 7, Pass::kForward).work == Approx(kernels).epsilon(1e-12));
  // The analytic fleet stays linear in the share.
  const Fleet analytic(1e11, {device(1.0)});
  CHECK(analytic.op_seconds(p, 0, b, e, 7, Pass::kForward).work ==
        Approx(7 * analytic.op_seconds(p, 0, b, e, 1, Pass::kForward).work).epsilon(1e-12));
}

TEST_CASE("calibrated pipeline: stage_cost takes each device at its share, the optimizer step once after the all-reduce",
          "[pipeline][calibrated]") {
  const CnnCase k;
  const auto& [cnn, p, profile, fleet] = k;
  const int b = 0, e = 4;
  const StageCost c = stage_cost(p, fleet, b, e, {0, 1}, {5, 2});
  const double f = std::max(by_hand(cnn, p, b, e, 5, true, profile, 1.0), by_hand(cnn, p, b, e, 2, true, profile, 3.0));
  const double g = std::max(by_hand(cnn, p, b, e, 5, false, profile, 1.0), by_hand(cnn, p, b, e, 2, false, profile, 3.0));
  CHECK(c.forward == Approx(f).epsilon(1e-12));
  CHECK(c.compute == Approx(f + g).epsilon(1e-12));
  // The step: the profile's per-step cost and optimizer cost of the stage's parameters, slowest device.
  double floats = 0, tensors = 0;
  for (const ParamSpec& prm : cnn.parameters())
    if (prm.layer >= p.units[b].begin && prm.layer < p.units[e - 1].end) {
      double n = 1;
      for (const ParamDim& dim : prm.dims) n *= double(cnn.extent(dim));
      floats += n, tensors += 1;
    }
  REQUIRE(floats > 0);
  const double step = 3.0 * (profile.step_s + floats * profile.s_per_optimizer_float + tensors * profile.s_per_optimizer_tensor);
  CHECK(c.update == Approx(step).epsilon(1e-12));
  const StageCost alone = stage_cost(p, fleet, b, e, {0}, {7});
  CHECK(alone.allreduce == Approx(alone.update).epsilon(1e-12));  // no ring: only the step
  CHECK(c.allreduce > c.update);
  // Under the analytic clock there is no step cost (as before).
  const Fleet analytic(1e11, {device(1.0), device(3.0)});
  CHECK(stage_cost(p, analytic, b, e, {0, 1}, {5, 2}).update == 0);
}

TEST_CASE("calibrated pipeline: Algorithm 1 minimises the stage's affine compute time", "[pipeline][calibrated]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile p = profile_layers(cnn);
  for (double kernel_s : {0.0, 2e-4, 5e-3}) {
    const Fleet fleet = calibrated_fleet({1.0, 2.5, 6.0}, known_profile(kernel_s));
    const std::vector<int> ids{0, 1, 2};
    const int b = 0, e = p.size(), mb = 12;
    auto finish = [&](int d, int n) {
      return fleet.op_seconds(p, d, b, e, n, Pass::kForward).work + fleet.op_seconds(p, d, b, e, n, Pass::kBackward).work;
    };
    const std::vector<int> s = split_stage(p, fleet, b, e, ids, mb, 1, true, SplitPolicy::kProportional);
    REQUIRE(s.size() == 3);
    CHECK(std::accumulate(s.begin(), s.end(), 0) == mb);
    double got = 0, best = -1;
    for (int d = 0; d < 3; ++d) got = std::max(got, finish(d, s[d]));
    for (int x = 1; x < mb; ++x)
      for (int y = 1; x + y < mb; ++y) {
        const double m = std::max({finish(0, x), finish(1, y), finish(2, mb - x - y)});
        if (best < 0 || m < best) best = m;
      }
    INFO("kernel " << kernel_s << " s: shares " << s[0] << " " << s[1] << " " << s[2]);
    CHECK(got == Approx(best).epsilon(1e-12));
  }
}

TEST_CASE("calibrated pipeline: the DP still finds the exhaustive search's best plan", "[pipeline][calibrated]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile p = profile_layers(cnn, CutPoints::kBlocks);
  PlannerOptions o;
  o.batch_size = 12;
  o.max_micro_batches = 6;
  o.grouping = DeviceGrouping::kSubsets;
  int compared = 0;
  for (double kernel_s : {0.0, 1e-3, 2e-2}) {
    Fleet fleet = calibrated_fleet({1.0, 2.0, 2.0, 5.0}, known_profile(kernel_s));
    fleet.links[3].uplink_mbps = fleet.links[3].downlink_mbps = 50;
    for (SplitPolicy split : {SplitPolicy::kProportional, SplitPolicy::kEqual}) {
      o.split = split;
      const std::optional<Plan> dp = plan_by_dp(p, fleet, o);
      const std::optional<PlannedPipeline> best = plan_exhaustive(p, fleet, o);
      REQUIRE(dp.has_value());
      REQUIRE(best.has_value());
      CHECK(iteration_time(*dp, p, fleet) == Approx(best->iteration_s).epsilon(1e-9));
      ++compared;
    }
  }
  CHECK(compared == 6);
}

TEST_CASE("calibrated pipeline: a large per-kernel cost makes the planner choose fewer, larger micro-batches and fewer stages",
          "[pipeline][calibrated][planner]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile p = profile_layers(cnn, CutPoints::kBlocks);
  PlannerOptions o;
  o.batch_size = 32;
  o.grouping = DeviceGrouping::kSubsets;
  const Fleet analytic(1e11, {device(1.0), device(1.0), device(2.0), device(2.0)});
  const Fleet cheap_ops = calibrated_fleet({1.0, 1.0, 2.0, 2.0}, known_profile(0.0));
  const Fleet costly_ops = calibrated_fleet({1.0, 1.0, 2.0, 2.0}, known_profile(5e-3));
  const PlannedPipeline a = plan_asteroid(p, analytic, o);
  const PlannedPipeline c0 = plan_asteroid(p, cheap_ops, o);
  const PlannedPipeline c = plan_asteroid(p, costly_ops, o);
  INFO("analytic: " << describe(a.plan, p) << "calibrated, no kernel cost: " << describe(c0.plan, p)
                    << "calibrated, 5 ms per kernel: " << describe(c.plan, p));
  // Linear costs: the most micro-batches pay off; a per-op cost of milliseconds does not.
  CHECK(a.plan.micro_batches >= 8);
  CHECK(c0.plan.micro_batches >= 8);
  CHECK(c.plan.micro_batches < c0.plan.micro_batches);
  CHECK(c.plan.micro_batches < a.plan.micro_batches);
  CHECK(c.plan.num_stages() < a.plan.num_stages());  // and fewer stages: each costs its ops too
  // The choice matters: the analytic plan, priced by the calibrated clock, is slower.
  CHECK(c.iteration_s < iteration_time(a.plan, p, costly_ops) * (1 - 1e-3));
  CHECK(c.iteration_s == Approx(iteration_time(c.plan, p, costly_ops)).epsilon(1e-12));
}

TEST_CASE("calibrated pipeline: PipeDream's average device runs at the fleet's mean speed, term by term",
          "[pipeline][calibrated][planner]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile p = profile_layers(cnn);
  const Fleet fleet = calibrated_fleet({1.0, 3.0}, known_profile(2e-4));
  const Fleet avg = average_fleet(fleet);
  REQUIRE(avg.calibrated());
  CHECK(avg.devices[0].slowdown == Approx(1.5));  // 2 / (1/1 + 1/3)
  for (Pass pass : {Pass::kForward, Pass::kBackward})
    CHECK(avg.op_seconds(p, 1, 0, p.size(), 4, pass).work ==
          Approx(1.5 * fleet.op_seconds(p, 0, 0, p.size(), 4, pass).work).epsilon(1e-12));
  // Devices priced alike are counted as one kind by the planner; another profile is another kind.
  CHECK(fleet.same_compute(0, 0));
  CHECK(!fleet.same_compute(0, 1));
  Fleet two = calibrated_fleet({1.0, 1.0}, known_profile(2e-4));
  auto set = std::make_shared<DeviceSet>(*two.compute);
  set->compute_profiles.push_back(known_profile(1e-3));
  two.devices[1].compute_profile = 1;
  two.compute = set;
  CHECK(!two.same_compute(0, 1));
  CHECK(two.op_seconds(p, 1, 0, p.size(), 4, Pass::kForward).work > two.op_seconds(p, 0, 0, p.size(), 4, Pass::kForward).work);
  CHECK(Fleet(1e11, {device(1.0), device(1.0)}).same_compute(0, 1));
}
