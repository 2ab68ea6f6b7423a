// Recovering a pipeline from lost devices (pipeline/recovery.hpp): the re-plan over the
// survivors is the planner's optimum on them, the backups sit on the next stage with the bytes
// of the stage's weights and momentum (and are dropped when they fit nowhere), and the costs of
// moving layers, backing up, checkpointing and redistributing are the links' transfer times.
#include <catch2/catch.hpp>

#include <algorithm>

#include "edgesim/pipeline/exhaustive_planner.hpp"
#include "edgesim/pipeline/recovery.hpp"

using namespace edgesim;

namespace {

DeviceProfile device(double slowdown, std::uint64_t cap = std::uint64_t(1) << 40, double up = 100, double down = 100,
                     double latency = 0) {
  DeviceProfile d;
  d.slowdown = slowdown, d.memory_cap_bytes = cap;
  d.uplink_mbps = up, d.downlink_mbps = down, d.latency_s = latency;
  return d;
}

// `n` units; unit u has 1000·(u+1) parameters and 10 BN floats.
LayerProfile units(int n) {
  LayerProfile p;
  p.model = "units";
  p.cut_bytes.push_back(3072);
  for (int u = 0; u < n; ++u) {
    LayerUnit unit;
    unit.begin = u, unit.end = u + 1, unit.forward_flops = 1e9 * (1 + u % 3);
    unit.parameters = 1000 * (u + 1), unit.buffers = 10, unit.activation_bytes = 4000;
    p.units.push_back(unit);
    p.cut_bytes.push_back(u + 1 < n ? 4000 : 0);
  }
  return p;
}

StagePlan stage(int begin, int end, std::vector<int> devices, std::vector<int> shares) {
  StagePlan s;
  s.begin = begin, s.end = end, s.devices = std::move(devices), s.shares = std::move(shares);
  return s;
}

bool uses(const Plan& plan, int d) {
  for (const StagePlan& s : plan.stages)
    if (std::find(s.devices.begin(), s.devices.end(), d) != s.devices.end()) return true;
  return false;
}

}  // namespace

TEST_CASE("recovery: the re-plan over the survivors is the optimum on them, with the same device ids",
          "[pipeline][recovery]") {
  const LayerProfile profile = units(5);
  const Fleet fleet(1e11, {device(1.0), device(2.5), device(1.5), device(4.0)});
  PlannerOptions options;
  options.batch_size = 8, options.micro_batches = 4;
  for (const std::vector<int>& lost : {std::vector<int>{0}, {1}, {2}, {3}, {0, 2}, {1, 3}}) {
    const PlannedPipeline got = plan_over_survivors(plan_asteroid, profile, fleet, options, lost);
    REQUIRE(!got.plan.stages.empty());
    CHECK_NOTHROW(check_plan(got.plan, profile, fleet));
    for (int d : lost) CHECK(!uses(got.plan, d));
    CHECK(got.plan.micro_batches == 4);
    // The optimum over every plan on the surviving devices alone (ids 0.. of the sub-fleet).
    std::vector<DeviceProfile> left;
    for (int d = 0; d < fleet.size(); ++d)
      if (std::find(lost.begin(), lost.end(), d) == lost.end()) left.push_back(fleet.devices[d]);
    const auto best = plan_exhaustive(profile, Fleet(1e11, left), options);
    REQUIRE(best.has_value());
    CHECK(iteration_time(got.plan, profile, fleet) == Approx(best->iteration_s).epsilon(1e-12));
  }
  // Device 0 (the fastest) survives the loss of 3: the plan names it by its own id.
  CHECK(uses(plan_over_survivors(plan_asteroid, profile, fleet, options, {3}).plan, 0));
  CHECK(plan_over_survivors(plan_asteroid, profile, fleet, options, {0, 1, 2, 3}).plan.stages.empty());
  // Nothing fits the survivors: no plan (Asteroid's PlanInfeasible is caught).
  const Fleet tiny(1e11, {device(1.0), device(1.0, 1000)});
  CHECK(plan_over_survivors(plan_asteroid, profile, tiny, options, {0}).plan.stages.empty());
}

TEST_CASE("recovery: each stage's backup on the next stage's roomiest device, weights and momentum",
          "[pipeline][recovery]") {
  const LayerProfile profile = units(4);
  Plan plan;
  plan.micro_batch = 2, plan.micro_batches = 2;
  plan.stages = {stage(0, 2, {0}, {2}), stage(2, 3, {1, 2}, {1, 1}), stage(3, 4, {3}, {2})};
  const std::uint64_t big = std::uint64_t(1) << 30;
  Fleet fleet(1e11, {device(1, big), device(1, big), device(1, big / 2), device(1, big)});
  const auto b = plan_backups(plan, profile, fleet, true);
  REQUIRE(b.size() == 3);
  // Stage 0 (units 0, 1: 3000 parameters, 20 BN floats): weights + buffers + momentum, float32.
  CHECK(b[0].bytes == 4 * (3000 + 20) + 4 * 3000);
  CHECK(b[0].holder == 1);  // stage 1's device with more room than device 2
  CHECK(b[1].holder == 3);
  CHECK(b[2].holder == 0);  // the last stage backs up onto the first
  CHECK(plan_backups(plan, profile, fleet, false)[0].bytes == 4 * (3000 + 20));
  const auto held = held_bytes(b, fleet.size());
  CHECK(held == std::vector<std::uint64_t>{b[2].bytes, b[0].bytes, 0, b[1].bytes});
  // Equal room: the lower id. No room anywhere: no backup (the stage is unprotected).
  fleet.devices[2].memory_cap_bytes = big;
  CHECK(plan_backups(plan, profile, fleet, true)[0].holder == 1);
  const std::uint64_t own1 = memory_of(plan, 1, 0, profile, true).total();
  const std::uint64_t own2 = memory_of(plan, 1, 1, profile, true).total();
  fleet.devices[1].memory_cap_bytes = own1 + b[0].bytes - 1;  // one byte short
  fleet.devices[2].memory_cap_bytes = own2 + b[0].bytes;       // exactly fits
  CHECK(plan_backups(plan, profile, fleet, true)[0].holder == 2);
  fleet.devices[2].memory_cap_bytes = own2 + b[0].bytes - 1;
  CHECK(plan_backups(plan, profile, fleet, true)[0].holder == -1);
  // One stage: no other stage to hold a backup.
  Plan one;
  one.micro_batch = 2, one.micro_batches = 2;
  one.stages = {stage(0, 4, {0, 1}, {1, 1})};
  CHECK(plan_backups(one, profile, fleet, true).at(0).holder == -1);
}

TEST_CASE("recovery: backup, checkpoint, redistribution and layer moves are timed on the links",
          "[pipeline][recovery]") {
  const LayerProfile profile = units(3);
  // Device 0 sends at 100 Mbit/s, device 1 receives at 50, device 2 at 20; latencies 1 and 3 ms.
  const Fleet fleet(1e11, {device(1, 1ull << 40, 100, 100, 0.001), device(1, 1ull << 40, 80, 50, 0.003),
                           device(1, 1ull << 40, 40, 20, 0.001)});
  Plan plan;
  plan.micro_batch = 2, plan.micro_batches = 1;
  plan.stages = {stage(0, 1, {0}, {2}), stage(1, 2, {1}, {2}), stage(2, 3, {2}, {2})};
  const auto b = plan_backups(plan, profile, fleet, true);
  const double s0 = b[0].bytes * 8.0 / 50e6 + 0.003;  // 0 -> 1: device 1's downlink, the larger latency
  const double s1 = b[1].bytes * 8.0 / 20e6 + 0.003;  // 1 -> 2
  const double s2 = b[2].bytes * 8.0 / 40e6 + 0.001;  // 2 -> 0: device 2's uplink
  CHECK(backup_seconds(plan, b, fleet) == Approx(std::max({s0, s1, s2})).epsilon(1e-12));
  const std::vector<int> only0{0};
  CHECK(backup_seconds(plan, b, fleet, &only0) == Approx(s0).epsilon(1e-12));
  // Checkpoint: each stage's device uploads its stage to the store (unlimited), over its uplink.
  const double c2 = stage_state_bytes(profile, 2, 3, true) * 8.0 / 40e6 + 0.001;
  CHECK(checkpoint_seconds(plan, profile, fleet, true) == Approx(c2).epsilon(1e-12));
  const double r2 = stage_state_bytes(profile, 2, 3, true) * 8.0 / 20e6 + 0.001;
  CHECK(redistribution_seconds(plan, profile, fleet, true) == Approx(r2).epsilon(1e-12));

  // Stage 1 (device 1) lost. Its unit merged into the next stage: the backup holder (device 2)
  // has it already, nothing moves. Merged into stage 0 instead: device 2 sends it to device 0.
  const std::vector<int> lost{1};
  Plan next;
  next.micro_batch = 2, next.micro_batches = 1;
  next.stages = {stage(0, 1, {0}, {2}), stage(1, 3, {2}, {2})};
  const LayerMoves in_place = layer_moves(plan, b, next, lost, profile, fleet, true);
  CHECK((in_place.possible && in_place.bytes == 0 && in_place.transfers.empty() && in_place.seconds == 0));
  next.stages = {stage(0, 2, {0}, {2}), stage(2, 3, {2}, {2})};
  const LayerMoves moved = layer_moves(plan, b, next, lost, profile, fleet, true);
  REQUIRE(moved.transfers.size() == 1);
  CHECK((moved.possible && moved.transfers[0].source == 2 && moved.transfers[0].destination == 0));
  CHECK(moved.bytes == unit_state_bytes(profile, 1, true));
  CHECK(moved.seconds == Approx(moved.bytes * 8.0 / 40e6 + 0.001).epsilon(1e-12));
  // A surviving stage's units come from its own device: device 0's unit 0 to device 2.
  next.stages = {stage(0, 1, {2}, {2}), stage(1, 3, {0}, {2})};
  const LayerMoves swap = layer_moves(plan, b, next, lost, profile, fleet, true);
  CHECK(swap.bytes == unit_state_bytes(profile, 0, true) + unit_state_bytes(profile, 1, true) +
                          unit_state_bytes(profile, 2, true));
  // The holder lost too: the stage's weights are nowhere.
  CHECK(!layer_moves(plan, b, next, {1, 2}, profile, fleet, true).possible);
}
