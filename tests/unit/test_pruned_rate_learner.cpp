// AdaptCL's pruned-rate learner against a synthetic time model: worker i at keep k takes
//   T_i(k) = latency_i + work_i · k^2 + linear_i · k
// (fixed latency, conv-like quadratic cost, a linear part like the first and last layers).
// The learner only ever sees T_i(k_i), never latency/work/linear.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "edgesim/algo/pruned_rate_learner.hpp"

using namespace edgesim;

namespace {

struct Worker {
  double latency, work, linear;
  double time(double k) const { return latency + work * k * k + linear * k; }
};

// Runs `rounds` rounds; `workers_at(r)` gives the time model in round r (1-based).
template <class WorkersAt>
std::vector<std::vector<double>> simulate(PrunedRateLearner& learner, int rounds, WorkersAt workers_at) {
  std::vector<std::vector<double>> times;  // [round][worker]
  for (int r = 1; r <= rounds; ++r) {
    const std::vector<Worker> w = workers_at(r);
    std::vector<PrunedRateLearner::Observation> seen;
    std::vector<double> t;
    for (int i = 0; i < static_cast<int>(w.size()); ++i) {
      t.push_back(w[i].time(learner.keep(i)));
      seen.push_back({i, t.back(), false});
    }
    times.push_back(t);
    learner.observe(seen);
  }
  return times;
}

double fastest_full(const std::vector<Worker>& w) {
  double best = 1e300;
  for (const auto& x : w) best = std::min(best, x.time(1.0));
  return best;
}

const std::vector<Worker> kHeterogeneous = {
    {0.02, 1.0, 0.05}, {0.02, 1.7, 0.05}, {0.05, 2.1, 0.1}, {0.1, 6.0, 0.2}, {0.1, 12.0, 0.3}};

}  // namespace

TEST_CASE("pruned-rate learner: update times converge to the fastest worker's full-model time", "[adaptcl]") {
  RateLearnerOptions o;  // slack 0.1, gain 0.5
  PrunedRateLearner learner(static_cast<int>(kHeterogeneous.size()), o);
  const auto times = simulate(learner, 8, [](int) { return kHeterogeneous; });
  const double target = (1 + o.slack) * fastest_full(kHeterogeneous);
  // Round 1 runs everyone at full width: up to 12x apart.
  const auto& first = times.front();
  CHECK(*std::max_element(first.begin(), first.end()) / *std::min_element(first.begin(), first.end()) > 10);
  // By round 5 every worker is within 5% of the target (the fastest sits at full width, below it).
  for (int r = 4; r < 8; ++r) {
    for (std::size_t i = 1; i < kHeterogeneous.size(); ++i)
      CHECK(std::abs(times[r][i] / target - 1) < 0.05);
    CHECK(learner.keep(0) == 1.0);
  }
  CHECK(learner.keep(4) < learner.keep(3));
  CHECK(learner.keep(3) < learner.keep(2));
  CHECK(learner.target_s() == Approx(target).epsilon(1e-3));
}

TEST_CASE("pruned-rate learner: a homogeneous set stays at full width", "[adaptcl]") {
  PrunedRateLearner learner(4, RateLearnerOptions{});
  const std::vector<Worker> same(4, Worker{0.05, 2.0, 0.1});
  simulate(learner, 10, [&](int) { return same; });
  for (int i = 0; i < 4; ++i) CHECK(learner.keep(i) == 1.0);
}

TEST_CASE("pruned-rate learner: rates stay within [keep_min, 1]", "[adaptcl]") {
  RateLearnerOptions o;
  o.keep_min = 0.2;
  PrunedRateLearner learner(3, o);
  // 1000x slower than the fastest: it would need keep ~0.03, so it sits at keep_min.
  const std::vector<Worker> w = {{0.0, 1.0, 0.0}, {0.0, 1000.0, 0.0}, {0.0, 3.0, 0.0}};
  simulate(learner, 20, [&](int) { return w; });
  for (int i = 0; i < 3; ++i) {
    CHECK(learner.keep(i) >= 0.2);
    CHECK(learner.keep(i) <= 1.0);
  }
  CHECK(learner.keep(1) == 0.2);
  CHECK(learner.keep(0) == 1.0);
  // Failures back off, but never below keep_min.
  for (int r = 0; r < 10; ++r) learner.observe({{2, 0.0, true}});
  CHECK(learner.keep(2) == 0.2);
}

TEST_CASE("pruned-rate learner: re-adapts within a few rounds when a worker slows down or speeds up", "[adaptcl]") {
  PrunedRateLearner learner(static_cast<int>(kHeterogeneous.size()), RateLearnerOptions{});
  // Worker 1 is throttled 5x from round 11 to 20, then recovers.
  auto at = [](int r) {
    auto w = kHeterogeneous;
    if (r >= 11 && r <= 20) w[1].work *= 5, w[1].linear *= 5;
    return w;
  };
  const auto times = simulate(learner, 30, at);
  const double target = 1.1 * fastest_full(kHeterogeneous);
  CHECK(times[10][1] > 2 * target);                      // round 11: the slowdown hits
  for (int r = 13; r < 20; ++r) CHECK(std::abs(times[r][1] / target - 1) < 0.05);  // by round 14
  for (int r = 23; r < 30; ++r) CHECK(std::abs(times[r][1] / target - 1) < 0.05);  // after recovery too
}

TEST_CASE("pruned-rate learner: the fastest worker speeding up while pruned does not shrink everyone", "[adaptcl]") {
  // Worker 3 (6x) becomes the fastest from round 11. Its pruned time is far below everyone's,
  // but the target is its *full-model* estimate, so the others do not collapse.
  PrunedRateLearner learner(static_cast<int>(kHeterogeneous.size()), RateLearnerOptions{});
  auto at = [](int r) {
    auto w = kHeterogeneous;
    if (r >= 11) w[3] = {0.01, 0.5, 0.02};
    return w;
  };
  simulate(learner, 10, at);
  const double keep_before = learner.keep(2);
  simulate(learner, 15, [&](int r) { return at(r + 10); });
  CHECK(learner.keep(3) == 1.0);
  CHECK(learner.keep(2) < keep_before);  // the new fastest is faster, so the target is tighter
  CHECK(learner.keep(2) > 0.5 * keep_before);
  CHECK(learner.target_s() == Approx(1.1 * at(11)[3].time(1.0)).epsilon(0.02));
}

TEST_CASE("pruned-rate learner: its state survives a checkpoint", "[adaptcl]") {
  PrunedRateLearner a(5, RateLearnerOptions{}), b(5, RateLearnerOptions{});
  simulate(a, 3, [](int) { return kHeterogeneous; });
  b.load_state(a.save_state());
  for (int i = 0; i < 5; ++i) CHECK(b.keep(i) == a.keep(i));
  const auto ta = simulate(a, 3, [](int) { return kHeterogeneous; });
  const auto tb = simulate(b, 3, [](int) { return kHeterogeneous; });
  CHECK(ta == tb);
  PrunedRateLearner wrong(6, RateLearnerOptions{});
  CHECK_THROWS_WITH(wrong.load_state(a.save_state()), Catch::Contains("does not match"));
}
