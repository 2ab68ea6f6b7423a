// A pipeline run's fault schedule (pipeline.faults, pipeline/fault_schedule.hpp): what the
// text says, in time order, and every way it can be wrong; and the plan that survives a device.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "edgesim/pipeline/fault_schedule.hpp"

using namespace edgesim;

namespace {

std::string error_of(const std::string& text, int devices) {
  try {
    parse_fault_schedule(text, devices);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

DeviceProfile device(double slowdown) {
  DeviceProfile d;
  d.slowdown = slowdown, d.memory_cap_bytes = std::uint64_t(1) << 40;
  return d;
}

LayerProfile two_units() {
  LayerProfile p;
  p.model = "two";
  p.cut_bytes = {3072, 4000, 0};
  for (int u = 0; u < 2; ++u) {
    LayerUnit unit;
    unit.begin = u, unit.end = u + 1, unit.forward_flops = 1e9, unit.parameters = 1000, unit.activation_bytes = 4000;
    p.units.push_back(unit);
  }
  return p;
}

}  // namespace

TEST_CASE("fault schedule: kinds, devices and times, sorted by time then device", "[pipeline][faults]") {
  CHECK(parse_fault_schedule("", 4).empty());
  CHECK(parse_fault_schedule(" , ", 4).empty());
  const auto f = parse_fault_schedule("leave:3@1.25, fail:2@0.5,fail:0@1.25", 4);
  REQUIRE(f.size() == 3);
  CHECK((f[0].device == 2 && !f[0].leave && f[0].at_s == 0.5));
  CHECK((f[1].device == 0 && !f[1].leave && f[1].at_s == 1.25));  // a tie: the lower device first
  CHECK((f[2].device == 3 && f[2].leave && f[2].at_s == 1.25));
  CHECK(parse_fault_schedule("fail:1@0", 2).at(0).at_s == 0);
}

TEST_CASE("fault schedule: each error says what is wrong with which item", "[pipeline][faults]") {
  CHECK_THAT(error_of("fail2@0.5", 4), Catch::Contains("'fail2@0.5' is not KIND:DEVICE@SECONDS"));
  CHECK_THAT(error_of("fail@0.5:2", 4), Catch::Contains("is not KIND:DEVICE@SECONDS"));
  CHECK_THAT(error_of("crash:1@0.5", 4), Catch::Contains("the kind must be fail or leave"));
  CHECK_THAT(error_of("fail:x@0.5", 4), Catch::Contains("DEVICE must be an integer"));
  CHECK_THAT(error_of("fail:1.5@0.5", 4), Catch::Contains("DEVICE must be an integer"));
  CHECK_THAT(error_of("fail:1@soon", 4), Catch::Contains("SECONDS a number"));
  CHECK_THAT(error_of("fail:1@0.5s", 4), Catch::Contains("SECONDS a number"));
  CHECK_THAT(error_of("fail:4@0.5", 4), Catch::Contains("device 4 is not one of the 4 devices"));
  CHECK_THAT(error_of("leave:-1@0.5", 4), Catch::Contains("device -1 is not one of the 4 devices"));
  CHECK_THAT(error_of("fail:1@-2", 4), Catch::Contains("SECONDS must be >= 0"));
  CHECK_THAT(error_of("fail:1@inf", 4), Catch::Contains("SECONDS must be >= 0"));
  CHECK_THAT(error_of("fail:1@nan", 4), Catch::Contains("SECONDS must be >= 0"));
  CHECK_THAT(error_of("fail:1@0.5,leave:1@2", 4), Catch::Contains("device 1 is listed twice"));
}

TEST_CASE("the plan without a device: its stage re-split among the survivors by speed", "[pipeline][faults]") {
  const LayerProfile profile = two_units();
  const Fleet fleet(1e11, {device(1), device(1), device(3), device(2)});
  Plan plan;
  plan.micro_batch = 12, plan.micro_batches = 4;
  plan.stages = {{0, 1, {0, 1, 2}, {5, 5, 2}}, {1, 2, {3}, {12}}};

  SECTION("a replica of a multi-device stage") {
    const Plan after = plan_without(plan, 1, profile, fleet);
    REQUIRE(after.num_stages() == 2);
    CHECK(after.stages[0].devices == std::vector<int>{0, 2});
    const auto& shares = after.stages[0].shares;
    CHECK(std::accumulate(shares.begin(), shares.end(), 0) == 12);
    CHECK(shares[0] == 9);  // 3x as fast as device 2: 3/4 of the micro-batch
    CHECK(shares[1] == 3);
    CHECK(after.stages[1].devices == plan.stages[1].devices);  // other stages as they were
    CHECK(after.stages[1].shares == plan.stages[1].shares);
    CHECK(after.micro_batch == 12);
    CHECK(after.micro_batches == 4);
  }
  SECTION("a stage's only device: no plan survives without a re-plan") {
    CHECK(plan_without(plan, 3, profile, fleet).stages.empty());
  }
  SECTION("a device the plan does not use") {
    const Fleet five(1e11, {device(1), device(1), device(3), device(2), device(1)});
    const Plan after = plan_without(plan, 4, profile, five);
    REQUIRE(after.num_stages() == 2);
    CHECK(after.stages[0].shares == plan.stages[0].shares);
  }
}

TEST_CASE("random failures: one per unlisted device, exponential, from (seed, device) alone", "[pipeline][faults]") {
  const auto listed = parse_fault_schedule("leave:1@0.5", 4);
  CHECK(with_random_failures(listed, 0.0, 7, 4).size() == 1);  // off
  const auto f = with_random_failures(listed, 2.0, 7, 4);
  REQUIRE(f.size() == 4);
  int leaves = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (i > 0) CHECK(f[i - 1].at_s <= f[i].at_s);
    CHECK(std::isfinite(f[i].at_s));
    CHECK(f[i].at_s >= 0);
    if (f[i].device == 1) CHECK((f[i].leave && f[i].at_s == 0.5));  // the listed one as listed
    leaves += f[i].leave;
  }
  CHECK(leaves == 1);
  // A device's time depends on the seed and the device only: not on how many there are.
  auto time_of = [](const std::vector<PipelineFault>& faults, int device) {
    for (const PipelineFault& x : faults)
      if (x.device == device) return x.at_s;
    return -1.0;
  };
  const auto more = with_random_failures({}, 2.0, 7, 64);
  for (int d : {0, 2, 3}) CHECK(time_of(f, d) == time_of(more, d));
  CHECK(time_of(with_random_failures({}, 2.0, 8, 4), 0) != time_of(f, 0));
  // Exponential with the given mean: over 4,000 devices the sample mean and the share failing
  // before the mean (1 − 1/e) are close (fixed seed: the check is exact, not flaky).
  const auto many = with_random_failures({}, 3.0, 11, 4000);
  double sum = 0;
  int early = 0;
  for (const PipelineFault& x : many) sum += x.at_s, early += x.at_s < 3.0;
  CHECK(sum / 4000 == Approx(3.0).epsilon(0.05));
  CHECK(early / 4000.0 == Approx(1 - std::exp(-1.0)).epsilon(0.05));
  CHECK_THROWS_AS(with_random_failures({}, -1.0, 1, 4), std::invalid_argument);
}
