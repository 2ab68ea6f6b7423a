// The stale-synchronous schedule (Ho et al., NIPS 2013) on a scripted run: devices with fixed
// task durations, events applied in (time, device) order as the event loop does. s = 0 is
// bulk-synchronous; with one slow device and s = 2 the fast ones get at most 2 iterations ahead
// and then wait; the schedule's state survives a checkpoint.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <tuple>

#include "edgesim/algo/schedule.hpp"
#include "edgesim/io/config.hpp"

using namespace edgesim;

namespace {

struct Start {
  int device;
  double at;
};

// A RunControl with fixed task durations per device (no training, no merge).
class ScriptedRun : public RunControl {
 public:
  ScriptedRun(std::vector<double> durations, int rounds) : durations_(std::move(durations)), rounds_(rounds) {}
  double now() const override { return now_; }
  std::int64_t version() const override { return version_; }
  int round() const override { return static_cast<int>(version_) + 1; }
  bool done() const override { return version_ >= rounds_; }
  const torch::Tensor& global() const override { return global_; }
  int devices() const override { return static_cast<int>(durations_.size()); }
  bool busy(int d) const override { return ends_.count(d) > 0; }
  bool idle_run() const override { return ends_.empty(); }
  std::int64_t dispatched() const override { return dispatched_; }
  void dispatch(int d, std::int64_t, std::int64_t) override {
    REQUIRE(!busy(d));
    ends_[d] = now_ + durations_.at(d);
    starts.push_back({d, now_});
    ++dispatched_;
  }
  std::vector<TaskResult> cancel_all() override { return {}; }
  void set_timer(double) override {}
  void clear_timer() override {}
  void advance_to(double t) override { now_ = t; }
  void aggregate(const std::vector<TaskResult>&, const std::vector<const TaskResult*>& accepted) override {
    REQUIRE(accepted.size() == 1);
    ++version_;
  }
  // Applies the earliest finish, (time, device) order; false when nothing is in flight.
  bool step(Schedule& s) {
    if (ends_.empty() || done()) return false;
    auto next = std::min_element(ends_.begin(), ends_.end(),
                                 [](const auto& a, const auto& b) { return std::tie(a.second, a.first) < std::tie(b.second, b.first); });
    TaskResult t;
    t.device = next->first;
    now_ = next->second;
    ends_.erase(next);
    finished[static_cast<int>(t.device)]++;
    s.on_finished(*this, std::move(t));
    return true;
  }
  std::vector<Start> starts;
  std::map<int, int> finished;

 private:
  std::vector<double> durations_;
  int rounds_;
  double now_ = 0;
  std::int64_t version_ = 0, dispatched_ = 0;
  std::map<int, double> ends_;
  torch::Tensor global_ = torch::zeros({1});
};

Experiment ssp_experiment(int devices, int bound) {
  const ExperimentConfig c = load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=synthetic", "data.synthetic_channels=1", "data.synthetic_size=28", "data.train_samples=100",
       "data.test_samples=20", "devices.count=" + std::to_string(devices), "algorithm.name=ssp",
       "algorithm.staleness_bound=" + std::to_string(bound)});
  return Experiment::build(c);
}

// Start times of each device's tasks.
std::map<int, std::vector<double>> by_device(const std::vector<Start>& starts) {
  std::map<int, std::vector<double>> out;
  for (const auto& s : starts) out[s.device].push_back(s.at);
  return out;
}

}  // namespace

TEST_CASE("SSP (Ho et al. 2013): staleness bound 0 is bulk-synchronous", "[ssp]") {
  const Experiment e = ssp_experiment(3, 0);
  auto algorithm = make_algorithm(e);
  auto schedule = make_schedule(e, *algorithm);
  ScriptedRun run({1.0, 2.0, 5.0}, 3 * 4);
  schedule->start(run);
  while (run.step(*schedule)) {
  }
  // Every device starts iteration k at the end of the slowest device's iteration k − 1.
  for (const auto& [device, starts] : by_device(run.starts)) {
    REQUIRE(starts.size() >= 4);
    for (std::size_t k = 0; k < 4; ++k) CHECK(starts[k] == 5.0 * double(k));
  }
}

TEST_CASE("SSP: with a slow device and s = 2 the fast devices run at most 2 iterations ahead, then wait", "[ssp]") {
  const Experiment e = ssp_experiment(3, 2);
  auto algorithm = make_algorithm(e);
  auto schedule = make_schedule(e, *algorithm);
  ScriptedRun run({1.0, 1.0, 10.0}, 12);
  schedule->start(run);
  std::map<int, int> started;
  std::size_t seen = 0;
  while (run.step(*schedule)) {
    for (; seen < run.starts.size(); ++seen) {
      const int d = run.starts[seen].device;
      // A device starting its next task has finished `started[d]` of them; the slowest has
      // finished min over devices.
      int slowest = 1 << 30;
      for (int x = 0; x < 3; ++x) slowest = std::min(slowest, run.finished[x]);
      CHECK(run.finished[d] - slowest <= 2);
      ++started[d];
    }
  }
  const auto starts = by_device(run.starts);
  // Fast devices: iterations at 0, 1, 2; the third ends at 3, 3 − 0 > 2, so they wait for the
  // slow device's first report at 10.
  for (int d : {0, 1}) {
    REQUIRE(starts.at(d).size() >= 4);
    CHECK(starts.at(d)[0] == 0.0);
    CHECK(starts.at(d)[1] == 1.0);
    CHECK(starts.at(d)[2] == 2.0);
    CHECK(starts.at(d)[3] == 10.0);
  }
  CHECK(starts.at(2)[1] == 10.0);  // the slowest never waits
}

TEST_CASE("SSP: the schedule's clocks and waiting devices survive a checkpoint", "[ssp]") {
  const Experiment e = ssp_experiment(3, 1);
  auto algorithm = make_algorithm(e);
  auto a = make_schedule(e, *algorithm);
  ScriptedRun run({1.0, 1.5, 4.0}, 30);
  a->start(run);
  for (int i = 0; i < 5; ++i) REQUIRE(run.step(*a));
  auto b = make_schedule(e, *algorithm);
  b->load_state(a->save_state());
  CHECK(b->save_state() == a->save_state());
  // Both continue identically from here.
  ScriptedRun copy = run;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(run.step(*a));
    REQUIRE(copy.step(*b));
  }
  REQUIRE(run.starts.size() == copy.starts.size());
  for (std::size_t i = 0; i < run.starts.size(); ++i) {
    CHECK(run.starts[i].device == copy.starts[i].device);
    CHECK(run.starts[i].at == copy.starts[i].at);
  }
}
