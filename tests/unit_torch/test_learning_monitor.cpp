// The learning monitor: each silent failure raises its warning, once; a learning run raises none.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "edgesim/runtime/learning_monitor.hpp"

using namespace edgesim;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

RoundRecord row(int round, double train_loss, double accuracy, double test_loss = 2.3) {
  RoundRecord r;
  r.round = round;
  r.participants = round == 0 ? 0 : 4;
  r.train_loss = round == 0 ? kNaN : train_loss;
  r.test_accuracy = accuracy;
  r.test_loss = std::isnan(accuracy) ? kNaN : test_loss;
  return r;
}

bool mentions(const std::vector<std::string>& w, const std::string& text) {
  for (const auto& s : w)
    if (s.find(text) != std::string::npos) return true;
  return false;
}
}  // namespace

TEST_CASE("a learning run raises no warning", "[learning_monitor]") {
  LearningMonitor m({10, 3, 3});
  REQUIRE(m.observe(row(0, kNaN, 0.10)).empty());  // round 0 is at chance by construction
  const double acc[] = {0.35, 0.52, 0.61, 0.66, 0.70};
  for (int r = 1; r <= 5; ++r) REQUIRE(m.observe(row(r, 2.0 / r, acc[r - 1], 1.5)).empty());
  REQUIRE(m.warnings().empty());
}

TEST_CASE("a non-finite train loss warns once", "[learning_monitor]") {
  LearningMonitor m({10, 3, 3});
  m.observe(row(0, kNaN, 0.10));
  REQUIRE(m.observe(row(1, 1.9, 0.3)).empty());
  const auto w = m.observe(row(2, std::numeric_limits<double>::infinity(), 0.3));
  REQUIRE(w.size() == 1);
  REQUIRE(mentions(w, "round 2: train loss is not finite"));
  REQUIRE(m.observe(row(3, kNaN, 0.3)).empty());  // once per run
  REQUIRE(m.warnings().size() == 1);
}

TEST_CASE("no accepted update is not a non-finite loss", "[learning_monitor]") {
  LearningMonitor m({10, 3, 3});
  RoundRecord r = row(1, kNaN, kNaN);
  r.participants = 0;  // everyone dropped: train_loss is NaN by design
  REQUIRE(m.observe(r).empty());
}

TEST_CASE("a train loss grown past the factor warns, relative to round 0's test loss", "[learning_monitor]") {
  LearningMonitor m({10, 3, 0});
  m.observe(row(0, kNaN, 0.10, 2.30));
  REQUIRE(m.observe(row(1, 6.8, 0.2)).empty());  // 2.96x: below the factor
  const auto w = m.observe(row(2, 12.3, 0.2));
  REQUIRE(w.size() == 1);
  REQUIRE(mentions(w, "run.warn_loss_growth"));
  REQUIRE(mentions(w, "12.300"));
  REQUIRE(m.observe(row(3, 20.0, 0.2)).empty());
}

TEST_CASE("an objective summed over several classifiers is compared with as many test losses", "[learning_monitor]") {
  // DepthFL / Co-S²P over five classifiers: the train loss starts near five times one
  // classifier's test loss, and that is not divergence; fifteen times is.
  LearningMonitor m({10, 3, 0, 5});
  m.observe(row(0, kNaN, 0.10, 2.30));
  REQUIRE(m.observe(row(1, 10.6, 0.3)).empty());
  REQUIRE(m.observe(row(2, 33.0, 0.3)).empty());  // 2.87x of 11.5
  const auto w = m.observe(row(3, 35.0, 0.3));
  REQUIRE(w.size() == 1);
  REQUIRE(mentions(w, "times the initial loss 11.500"));
  // With one classifier the same 10.6 already warns.
  LearningMonitor one({10, 3, 0, 1});
  one.observe(row(0, kNaN, 0.10, 2.30));
  REQUIRE(one.observe(row(1, 10.6, 0.3)).size() == 1);
}

TEST_CASE("without round 0 the first train loss is the reference", "[learning_monitor]") {
  LearningMonitor m({10, 3, 0});
  REQUIRE(m.observe(row(1, 2.0, 0.2)).empty());
  REQUIRE(m.observe(row(2, 5.9, 0.2)).empty());
  REQUIRE(m.observe(row(3, 6.1, 0.2)).size() == 1);
}

TEST_CASE("loss growth 0 never warns", "[learning_monitor]") {
  LearningMonitor m({10, 0, 0});
  m.observe(row(0, kNaN, 0.10, 2.30));
  REQUIRE(m.observe(row(1, 1000.0, 0.5)).empty());
}

TEST_CASE("accuracy at chance for several evaluations in a row warns", "[learning_monitor]") {
  LearningMonitor m({10, 3, 3});
  m.observe(row(0, kNaN, 0.10));
  REQUIRE(m.observe(row(1, 2.3, 0.10)).empty());
  REQUIRE(m.observe(row(2, 2.3, 0.115)).empty());
  REQUIRE(m.observe(row(3, 2.3, kNaN)).empty());  // not evaluated: neither counts nor resets
  const auto w = m.observe(row(4, 2.3, 0.10));
  REQUIRE(w.size() == 1);
  REQUIRE(mentions(w, "round 4: test accuracy 10.00% has been at chance (1/10) for 3 evaluations"));
  REQUIRE(m.observe(row(5, 2.3, 0.10)).empty());
}

TEST_CASE("one evaluation above chance resets the count", "[learning_monitor]") {
  LearningMonitor m({10, 3, 3});
  // Two at chance, one above, repeated: never three in a row.
  for (int r = 1; r <= 9; ++r) REQUIRE(m.observe(row(r, 2.0, r % 3 == 0 ? 0.3 : 0.1)).empty());
  REQUIRE(m.observe(row(10, 2.0, 0.1)).empty());
  REQUIRE(m.observe(row(11, 2.0, 0.1)).empty());
  REQUIRE(m.observe(row(12, 2.0, 0.1)).size() == 1);  // 10, 11, 12: three in a row after round 9's 30%
}
