// The pipeline planner (issue 13, first part): the layer profile from the zoo, the 1F1B
// iteration-time and memory model, Algorithm 1's split, the Asteroid DP against exhaustive
// search, the memory cap, infeasibility, and the baselines.
#include <catch2/catch.hpp>

#include <algorithm>
#include <numeric>

#include "edgesim/common/rng.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/pipeline/baseline_planners.hpp"
#include "edgesim/pipeline/exhaustive_planner.hpp"
#include "edgesim/pipeline/planner.hpp"
#include "edgesim/pipeline/schedule_1f1b.hpp"

using namespace edgesim;

namespace {

DeviceProfile device(double slowdown, std::uint64_t memory, double up_mbps = 100, double down_mbps = 100,
                     double latency_s = 0) {
  DeviceProfile d;
  d.slowdown = slowdown, d.memory_cap_bytes = memory;
  d.uplink_mbps = up_mbps, d.downlink_mbps = down_mbps, d.latency_s = latency_s;
  return d;
}

constexpr std::uint64_t kPlenty = std::uint64_t(1) << 40;

// A random model of `units` planning units and a random heterogeneous fleet, from the
// project's own generator.
// `small_weights`: cheap all-reduces, so stages with several devices pay off.
LayerProfile random_profile(Rng& rng, int units, bool small_weights) {
  LayerProfile p;
  p.model = "random";
  p.cut_bytes.push_back(3072);
  for (int u = 0; u < units; ++u) {
    LayerUnit unit;
    unit.begin = u, unit.end = u + 1;
    unit.forward_flops = (0.2 + 3 * rng.uniform()) * 1e9;
    unit.parameters = 1000 + rng.below(small_weights ? 20000 : 2000000);
    unit.activation_bytes = 1000 * (1 + rng.below(300));
    p.units.push_back(unit);
    if (u > 0) p.cut_bytes.push_back(1000 * (1 + rng.below(200)));
  }
  p.cut_bytes.push_back(0);
  return p;
}

Fleet random_fleet(Rng& rng, int devices, const LayerProfile& p, int batch) {
  const std::uint64_t whole = stage_memory(p, 0, p.size(), batch, 1, true).total();
  std::vector<DeviceProfile> d;
  for (int i = 0; i < devices; ++i)
    d.push_back(device(1 + 7 * rng.uniform(), static_cast<std::uint64_t>(whole * (0.15 + 0.9 * rng.uniform())),
                       20 + 400 * rng.uniform(), 20 + 400 * rng.uniform(), 0.05 * rng.uniform()));
  Fleet f(1e11, d);
  if (rng.below(2)) f.op_overhead_s = 0.005;
  return f;
}

bool fits(const Plan& plan, const LayerProfile& p, const Fleet& f) {
  for (int s = 0; s < plan.num_stages(); ++s)
    for (std::size_t i = 0; i < plan.stages[s].devices.size(); ++i)
      if (memory_of(plan, s, static_cast<int>(i), p, true).total() > f.devices[plan.stages[s].devices[i]].memory_cap_bytes)
        return false;
  return true;
}

}  // namespace

TEST_CASE("layer profile: one stage is the whole model's training footprint and FLOPs", "[pipeline]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile p = profile_layers(cnn);
  REQUIRE(p.size() == static_cast<int>(cnn.layers.size()));
  CHECK(p.forward_flops(0, p.size()) == forward_flops(cnn));
  const MemoryFootprint whole = training_memory(cnn, 16, true);
  const MemoryFootprint stage = stage_memory(p, 0, p.size(), 16, 1, true);
  CHECK(stage.weights == whole.weights);
  CHECK(stage.gradients == whole.gradients);
  CHECK(stage.optimizer == whole.optimizer);
  CHECK(stage.activations == whole.activations);
  // A chain cut carries exactly the previous layer's output: after conv1+relu+pool, 16x14x14.
  CHECK(p.cut_bytes[3] == 4u * 16 * 14 * 14);
  // Block cuts: the two conv stages, the hidden linear layer, the classifier.
  const LayerProfile blocks = profile_layers(cnn, CutPoints::kBlocks);
  REQUIRE(blocks.size() == 4);
  CHECK(blocks.units[0].end == 3);
  CHECK(blocks.cut_bytes[1] == p.cut_bytes[3]);
}

TEST_CASE("ResNet-18: a cut inside a residual block also carries the shortcut's tensor", "[pipeline]") {
  const ModelSpec r = make_resnet18(3, 32, 10, 1.0, false);
  // Stem: conv 0, BN 1, ReLU 2 (the stream x). First block: conv 3 (from x), BN 4, ReLU 5,
  // conv 6, BN 7, add 8 (= 7 + x), ReLU 9.
  REQUIRE(r.layers[8].kind == LayerKind::kAdd);
  REQUIRE(r.layers[8].inputs == std::vector<int>({7, 2}));
  const std::uint64_t x_bytes = 4u * 64 * 32 * 32;
  CHECK(crossing_bytes(r, 3) == x_bytes);       // before the block: x alone
  CHECK(crossing_bytes(r, 4) == 2 * x_bytes);   // after its first conv: conv output and x
  CHECK(crossing_bytes(r, 8) == 2 * x_bytes);   // before the add: the main branch and x
  CHECK(crossing_bytes(r, 10) == x_bytes);      // after the block: its output alone
  const LayerProfile p = profile_layers(r);
  CHECK(p.cut_bytes[4] == 2 * x_bytes);

  // The planner's time model charges both tensors at that cut.
  const Fleet fleet(1e11, {device(1, kPlenty, 80, 80), device(1, kPlenty, 80, 80)});
  Plan plan;
  plan.micro_batch = 4, plan.micro_batches = 2;
  plan.stages = {{0, 4, {0}, {4}}, {4, p.size(), {1}, {4}}};
  const IterationBreakdown b = iteration_breakdown(plan, p, fleet);
  REQUIRE(b.forward_cut.size() == 1);
  CHECK(b.forward_cut[0] == Approx(4.0 * 2 * x_bytes * 8 / 80e6));
  CHECK(b.backward_cut[0] == Approx(4.0 * 2 * x_bytes * 8 / 80e6));
}

TEST_CASE("Transformer: no cut between the positional table and its add; the tied head is a shared weight", "[pipeline]") {
  TransformerShape t;
  const ModelSpec lm = make_transformer_lm(t, 1.0);
  const LayerProfile p = profile_layers(lm);
  // Layers: token embedding 0, positional embedding 1, add 2: units [0,1) and [1,3).
  CHECK(p.units[0].end == 1);
  CHECK(p.units[1].begin == 1);
  CHECK(p.units[1].end == 3);
  REQUIRE(p.tied.size() == 1);
  CHECK(p.tied[0].owner_unit == 0);
  CHECK(p.tied[0].user_unit == p.size() - 1);
  CHECK(p.tied[0].parameters == std::uint64_t(t.vocab) * t.d_model);
  // A last stage holding the head keeps a copy of the embedding (weights, gradients, momentum).
  const MemoryFootprint head = stage_memory(p, p.size() - 1, p.size(), 1, 1, true);
  CHECK(head.gradients == 4u * t.vocab * t.d_model + 4 * p.units.back().parameters);
}

TEST_CASE("Algorithm 1: shares proportional to speed when memory does not bind", "[pipeline]") {
  const std::vector<int> big(3, 1000);
  CHECK(split_proportional(12, {1.0, 0.5, 1.0 / 3}, big) == std::vector<int>({2, 4, 6}));
  CHECK(split_proportional(12, {0.5, 0.5, 0.5}, big) == std::vector<int>({4, 4, 4}));
  // The fastest device capped at 3: the rest is shared 1:2 by the other two.
  CHECK(split_proportional(12, {1.0, 0.5, 0.1}, {1000, 1000, 3}) == std::vector<int>({3, 6, 3}));
  CHECK(split_proportional(12, {1.0, 1.0}, {5, 5}).empty());  // not enough memory
  CHECK(split_proportional(2, {1.0, 1.0, 1.0}, big).empty());  // fewer samples than devices
  CHECK(split_equal(7, {10, 10, 10}) == std::vector<int>({3, 2, 2}));
  CHECK(split_equal(9, {10, 2, 10}).empty());

  // Through the stage model: devices 1x, 2x, 3x as fast as the slowest.
  const LayerProfile p = profile_layers(make_cnn(1, 28, 10, 1.0));
  const Fleet fleet(1e11, {device(3, kPlenty), device(1.5, kPlenty), device(1, kPlenty)});
  CHECK(split_stage(p, fleet, 0, p.size(), {0, 1, 2}, 12, 1, true, SplitPolicy::kProportional) ==
        std::vector<int>({2, 4, 6}));
}

TEST_CASE("Algorithm 1: its split has the smallest stage time of all integer splits", "[pipeline]") {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed, Purpose::kSynthetic, 1);
    const int n = 2 + static_cast<int>(rng.below(3)), b = n + static_cast<int>(rng.below(10));
    std::vector<double> t(n);
    std::vector<int> cap(n);
    for (int d = 0; d < n; ++d) t[d] = 0.1 + rng.uniform(), cap[d] = 1 + static_cast<int>(rng.below(b));
    const std::vector<int> s = split_proportional(b, t, cap);
    // Brute force over every split with shares in [1, cap].
    double best = -1;
    std::vector<int> x(n, 1);
    for (;;) {
      if (std::accumulate(x.begin(), x.end(), 0) == b) {
        double m = 0;
        for (int d = 0; d < n; ++d) m = std::max(m, x[d] * t[d]);
        if (best < 0 || m < best) best = m;
      }
      int d = 0;
      while (d < n && ++x[d] > cap[d]) x[d] = 1, ++d;
      if (d == n) break;
    }
    if (best < 0) {
      CHECK(s.empty());
      continue;
    }
    REQUIRE(s.size() == static_cast<std::size_t>(n));
    CHECK(std::accumulate(s.begin(), s.end(), 0) == b);
    double m = 0;
    for (int d = 0; d < n; ++d) {
      CHECK(s[d] >= 1);
      CHECK(s[d] <= cap[d]);
      m = std::max(m, s[d] * t[d]);
    }
    CHECK(m == Approx(best));
  }
}

TEST_CASE("iteration time of a hand-worked two-stage plan", "[pipeline]") {
  // Unit 0: 1 GFLOP/sample, 1 M parameters; unit 1: 2 GFLOP/sample, 2 M parameters; 40 kB
  // per sample cross the cut. Stage 0 = device A (1x, uplink 40 Mbit/s); stage 1 = B (2x
  // slower) and C (1x). Reference 1e11 FLOP/s, 80 Mbit/s elsewhere, 10 ms latency.
  LayerProfile p;
  p.model = "hand";
  p.units = {{0, 1, 1e9, 1000000, 0, 0}, {1, 2, 2e9, 2000000, 0, 0}};
  p.cut_bytes = {1000, 40000, 0};
  const Fleet fleet(1e11, {device(1, kPlenty, 40, 80, 0.01), device(2, kPlenty, 80, 80, 0.01),
                           device(1, kPlenty, 80, 80, 0.01)});
  Plan plan;
  plan.micro_batch = 6, plan.micro_batches = 4;
  plan.stages = {{0, 1, {0}, {6}}, {1, 2, {1, 2}, {}}};
  plan.stages[1].shares = split_stage(p, fleet, 1, 2, {1, 2}, 6, in_flight(plan, 1), true, SplitPolicy::kProportional);
  REQUIRE(plan.stages[1].shares == std::vector<int>({2, 4}));  // B twice as slow as C
  check_plan(plan, p, fleet);

  // Stage 0: 6 · 1e9 / 1e11 = 0.06 s forward, 0.18 s forward + backward.
  // Stage 1: max(2 · 2e9 · 2, 4 · 2e9) / 1e11 = 0.08 s forward, 0.24 s with backward.
  // Forward cut: A sends 6 · 40 kB at 40 Mbit/s = 0.048 s; B, C receive 80 and 160 kB at
  // 80 Mbit/s = 0.008, 0.016 s; the busier side + 10 ms = 0.058 s.
  // Backward cut: B, C send 0.008, 0.016 s; A receives 240 kB at 80 Mbit/s = 0.024 s -> 0.034 s.
  // All-reduce of stage 1: 2 devices, 2 steps of (8 MB / 2 at 80 Mbit/s = 0.4 s) + 10 ms = 0.82 s.
  // Round trip at stage 0: 0.18 + 0.058 + 0.24 + 0.034 = 0.512 s for its 2 micro-batches in
  // flight, 0.256 s each: it paces the steady state, not stage 1's 0.24 s.
  // Stage 1's all-reduce starts before the flush ends, by the last backward's way back through
  // stage 0 (its 0.034 s gradient transfer and 0.12 s backward): it adds 0.82 - 0.154 = 0.666 s.
  // T = (0.18 + 0.24) + (0.058 + 0.034) + 3 · 0.256 + 0.666 = 1.946 s.
  const IterationBreakdown b = iteration_breakdown(plan, p, fleet);
  CHECK(b.stages[0].compute == Approx(0.18));
  CHECK(b.stages[1].compute == Approx(0.24));
  CHECK(b.forward_cut[0] == Approx(0.058));
  CHECK(b.backward_cut[0] == Approx(0.034));
  CHECK(b.stages[0].allreduce == 0);
  CHECK(b.stages[1].allreduce == Approx(0.82));
  CHECK(b.bottleneck == Approx(0.24));
  CHECK(b.round_trip == Approx(0.256));
  CHECK(b.allreduce == Approx(0.666));
  CHECK(b.total == Approx(1.946));
  CHECK(iteration_time(plan, p, fleet) == Approx(1.946));
  // The op-by-op schedule (worked by hand the same way: stage 0's one warm-up forward does not
  // cover the round trip) ends with stage 1's all-reduce at 1.11 + 0.82 = 1.93 s; the closed
  // form charges 16 ms of stage 0's cool-down it does not wait for.
  CHECK(schedule_1f1b(plan, p, fleet).makespan_s == Approx(1.93));

  // Memory: stage 0 of 2 keeps min(2, 4) = 2 micro-batches in flight, stage 1 keeps 1.
  CHECK(in_flight(plan, 0) == 2);
  CHECK(in_flight(plan, 1) == 1);
  CHECK(memory_of(plan, 0, 0, p, true).activations == 2u * 6 * 1000);
  CHECK(memory_of(plan, 1, 1, p, true).activations == 1u * 4 * 40000);
  CHECK(memory_of(plan, 1, 1, p, true).weights == 4u * 2000000);
  CHECK(memory_of(plan, 1, 1, p, false).optimizer == 0);
}

TEST_CASE("the Asteroid DP finds the exhaustive search's best plan on small instances", "[pipeline]") {
  int compared = 0, infeasible = 0, hybrid = 0, runs_worse = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed, Purpose::kSynthetic, 13);
    const bool small_weights = seed % 2 == 0;
    const LayerProfile p = random_profile(rng, 2 + static_cast<int>(rng.below(7)), small_weights);  // 2..8 units
    PlannerOptions o;
    o.batch_size = 12;
    o.max_micro_batches = small_weights ? 4 : 12;  // micro-batches of >= 3 samples can be split
    o.grouping = DeviceGrouping::kSubsets;
    const Fleet fleet = random_fleet(rng, 2 + static_cast<int>(rng.below(3)), p, o.batch_size);  // 2..4 devices
    INFO("seed " << seed << ", " << p.size() << " units, " << fleet.size() << " devices");
    for (SplitPolicy split : {SplitPolicy::kProportional, SplitPolicy::kEqual}) {
      o.split = split;
      const std::optional<Plan> dp = plan_by_dp(p, fleet, o);
      const std::optional<PlannedPipeline> best = plan_exhaustive(p, fleet, o);
      REQUIRE(dp.has_value() == best.has_value());
      if (!dp) {
        ++infeasible;
        continue;
      }
      check_plan(*dp, p, fleet);
      CHECK(fits(*dp, p, fleet));
      CHECK(iteration_time(*dp, p, fleet) == Approx(best->iteration_s).epsilon(1e-9));
      ++compared;
      bool shared_stage = false;
      for (const StagePlan& s : dp->stages) shared_stage = shared_stage || s.devices.size() > 1;
      if (shared_stage && dp->num_stages() > 1) ++hybrid;
      // Sorted runs search fewer plans: never better than the optimum.
      o.grouping = DeviceGrouping::kSortedRuns;
      if (const std::optional<Plan> runs = plan_by_dp(p, fleet, o)) {
        CHECK(iteration_time(*runs, p, fleet) >= best->iteration_s * (1 - 1e-12));
        if (iteration_time(*runs, p, fleet) > best->iteration_s * (1 + 1e-9)) ++runs_worse;
      }
      o.grouping = DeviceGrouping::kSubsets;
    }
  }
  // The instances exercise what they should: most admit a plan, and some optima are hybrid
  // (several stages, one of them shared by several devices).
  CHECK(compared >= 50);
  CHECK(hybrid >= 5);
  WARN(compared << " instances compared (" << hybrid << " hybrid optima), " << infeasible << " infeasible, sorted runs worse on "
                << runs_worse);
}

TEST_CASE("the planner respects every device's memory cap", "[pipeline]") {
  const ModelSpec vgg = make_vgg(11, 3, 32, 10, 1.0, false);
  const LayerProfile p = profile_layers(vgg, CutPoints::kBlocks);
  const std::uint64_t whole = stage_memory(p, 0, p.size(), 32, 1, true).total();
  // No device holds the model with the whole batch; a fast device with little memory.
  const Fleet fleet(2e11, {device(1, whole / 2), device(2, whole / 3), device(4, whole), device(4, whole / 4)});
  PlannerOptions o;
  o.batch_size = 32;
  const PlannedPipeline plan = plan_asteroid(p, fleet, o);
  REQUIRE(plan.feasible());
  CHECK(fits(plan.plan, p, fleet));
  CHECK(over_memory(plan.plan, p, fleet, true).empty());
  // Data parallelism puts the whole model everywhere: the devices with less than it fail.
  const PlannedPipeline dp = plan_data_parallel(p, fleet, o);
  CHECK_FALSE(dp.feasible());
  CHECK_FALSE(dp.oom_devices.empty());
}

TEST_CASE("no plan fits: the error names the smallest cap that admits one", "[pipeline]") {
  const LayerProfile p = profile_layers(make_cnn(1, 28, 10, 1.0), CutPoints::kBlocks);
  const Fleet fleet(1e11, {device(1, 100000), device(2, 200000)});
  PlannerOptions o;
  o.batch_size = 8;
  std::uint64_t cap = 0;
  try {
    plan_asteroid(p, fleet, o);
    FAIL("expected PlanInfeasible");
  } catch (const PlanInfeasible& e) {
    cap = e.min_cap_bytes;
    CHECK(std::string(e.what()).find(std::to_string(cap) + " bytes") != std::string::npos);
  }
  REQUIRE(cap > 200000);
  auto with_floor = [&](std::uint64_t floor) {
    Fleet f = fleet;
    for (auto& d : f.devices) d.memory_cap_bytes = std::max(d.memory_cap_bytes, floor);
    return f;
  };
  CHECK(plan_by_dp(p, with_floor(cap), o).has_value());
  CHECK_FALSE(plan_by_dp(p, with_floor(cap - 1), o).has_value());
  CHECK(plan_asteroid(p, with_floor(cap), o).feasible());
}

TEST_CASE("baselines: plans on the same model, never better than Asteroid where comparable", "[pipeline]") {
  const LayerProfile p = profile_layers(make_resnet18(3, 32, 10, 1.0, false), CutPoints::kBlocks);
  std::vector<DeviceProfile> d;
  for (double s : {1.0, 1.0, 3.0, 6.0}) d.push_back(device(s, std::uint64_t(4) << 30, 200, 200, 0.002));
  const Fleet fleet(2e11, d);
  PlannerOptions o;
  o.batch_size = 32;
  const std::vector<PlannedPipeline> all = plan_all(p, fleet, o);
  REQUIRE(all.size() == 5);
  CHECK(all[0].planner == "asteroid");
  REQUIRE(all[0].feasible());
  for (const PlannedPipeline& b : all) {
    INFO(b.planner);
    REQUIRE_FALSE(b.plan.stages.empty());
    check_plan(b.plan, p, fleet);
    CHECK(b.iteration_s == Approx(iteration_time(b.plan, p, fleet)));
  }
  // One device per stage is a plan the DP considers: Asteroid is at least as fast.
  CHECK(all[0].iteration_s <= all[2].iteration_s * (1 + 1e-12));
  CHECK(all[2].plan.num_stages() == 4);
  for (const StagePlan& s : all[2].plan.stages) CHECK(s.devices.size() == 1);
  // PipeDream plans for identical devices and splits equally; the hybrid splits equally too.
  for (int i : {3, 4})
    for (const StagePlan& s : all[i].plan.stages) {
      const auto [lo, hi] = std::minmax_element(s.shares.begin(), s.shares.end());
      CHECK(*hi - *lo <= 1);
    }
  const Fleet avg = average_fleet(fleet);
  CHECK(avg.devices[0].slowdown == Approx(4 / (1 + 1 + 1 / 3.0 + 1 / 6.0)));
}

TEST_CASE("1F1B schedule: identical stages give (M + S - 1)·C, the closed form", "[pipeline]") {
  LayerProfile p;
  p.model = "uniform";
  for (int u = 0; u < 4; ++u) p.units.push_back({u, u + 1, 1e9, 1000, 0, 100});
  p.cut_bytes = {100, 0, 0, 0, 0};  // nothing crosses the cuts
  const Fleet fleet(1e11, std::vector<DeviceProfile>(4, device(2, kPlenty)));
  Plan plan;
  plan.micro_batch = 2, plan.micro_batches = 6;
  for (int s = 0; s < 4; ++s) plan.stages.push_back({s, s + 1, {s}, {2}});
  const Schedule1F1B sched = schedule_1f1b(plan, p, fleet);
  const double c = 3 * 2 * 1e9 * 2 / 1e11;  // forward + backward of 2 samples at 2x
  CHECK(sched.makespan_s == Approx((6 + 4 - 1) * c));
  CHECK(iteration_time(plan, p, fleet) == Approx(sched.makespan_s));
  CHECK(sched.ops.size() == 4u * (2 * 6 + 1));
}

TEST_CASE("1F1B schedule: ops respect their stage and their inputs", "[pipeline]") {
  int plans = 0;
  double over = 0, under = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Rng rng(seed, Purpose::kSynthetic, 13);
    const bool small_weights = seed % 2 == 0;
    const LayerProfile p = random_profile(rng, 2 + static_cast<int>(rng.below(7)), small_weights);
    PlannerOptions o;
    o.batch_size = 12;
    o.max_micro_batches = small_weights ? 4 : 12;
    const Fleet fleet = random_fleet(rng, 2 + static_cast<int>(rng.below(3)), p, o.batch_size);
    const std::optional<Plan> plan = plan_by_dp(p, fleet, o);
    if (!plan) continue;
    ++plans;
    const Schedule1F1B s = schedule_1f1b(*plan, p, fleet);
    const int S = plan->num_stages(), M = plan->micro_batches;
    std::vector<std::vector<const PipelineOp*>> fwd(S, std::vector<const PipelineOp*>(M)), bwd = fwd;
    for (const PipelineOp& op : s.ops)
      if (op.kind == PipelineOpKind::kForward) fwd[op.stage][op.micro_batch] = &op;
      else if (op.kind == PipelineOpKind::kBackward) bwd[op.stage][op.micro_batch] = &op;
    for (std::size_t i = 1; i < s.ops.size(); ++i)
      if (s.ops[i].stage == s.ops[i - 1].stage) CHECK(s.ops[i].start_s >= s.ops[i - 1].end_s);
    for (int st = 0; st < S; ++st)
      for (int m = 0; m < M; ++m) {
        REQUIRE(fwd[st][m]);
        REQUIRE(bwd[st][m]);
        CHECK(bwd[st][m]->start_s >= fwd[st][m]->end_s);
        if (st > 0) CHECK(fwd[st][m]->start_s >= fwd[st - 1][m]->end_s);
        if (st + 1 < S) CHECK(bwd[st][m]->start_s >= bwd[st + 1][m]->end_s);
      }
    const double gap = (iteration_time(*plan, p, fleet) - s.makespan_s) / s.makespan_s;
    over = std::max(over, gap), under = std::min(under, gap);
  }
  CHECK(plans >= 30);
  // The closed form approximates the schedule (measured: within about ±6% on these plans).
  CHECK(over <= 0.10);
  CHECK(under >= -0.10);
  WARN("closed form against the exact 1F1B makespan: from " << 100 * under << "% to +" << 100 * over << "% on "
                                                            << plans << " plans");
}
