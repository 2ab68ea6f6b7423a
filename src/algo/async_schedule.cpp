// Asynchronous and semi-asynchronous schedules (algo/schedule.hpp).
#include <cmath>
#include <sstream>

#include "edgesim/algo/schedule.hpp"
#include "edgesim/common/rng.hpp"

namespace edgesim {
namespace {

class BufferedSchedule : public Schedule {
 public:
  // `k`: OK updates per aggregation. `wait_for_aggregation`: a reporter starts again only from
  // the next aggregated model (semi-async) instead of at once (async).
  BufferedSchedule(const Experiment& e, Algorithm& a, int k, bool wait_for_aggregation)
      : experiment_(e), algorithm_(a), k_(k), wait_(wait_for_aggregation) {}

  void start(RunControl& run) override {
    algorithm_.begin_round(run.global(), run.round());  // policies that look at the weights (AdaptCL)
    if (wait_) {
      for (int d : algorithm_.select(1)) run.dispatch(d, run.dispatched(), run.version() + 1);
    } else {
      const int n = run.devices(), c = experiment_.config.algorithm.concurrency;
      for (int i = 0, slots = c > 0 ? std::min(c, n) : n; i < slots; ++i) dispatch_idle(run);
    }
  }

  void on_finished(RunControl& run, TaskResult task) override {
    const int device = static_cast<int>(task.device);
    since_last_.push_back(std::move(task));
    TaskResult& t = since_last_.back();
    if (t.status == TaskStatus::kOk) ++ok_;
    else t.weights = torch::Tensor();
    const bool aggregate = ok_ >= k_ || (wait_ && run.idle_run());
    if (aggregate) {
      std::vector<const TaskResult*> accepted;
      for (const auto& u : since_last_)
        if (u.status == TaskStatus::kOk) accepted.push_back(&u);
      run.aggregate(since_last_, accepted);
      since_last_.clear();
      ok_ = 0;
      if (!run.done()) algorithm_.begin_round(run.global(), run.round());
    }
    if (!wait_) {
      dispatch_idle(run);  // from the new global model, if it changed
    } else {
      waiting_.push_back(device);
      if (aggregate) {
        for (int d : waiting_) run.dispatch(d, run.dispatched(), run.version() + 1);
        waiting_.clear();
      }
    }
  }

  void on_timer(RunControl&) override {}

 private:
  // A freed slot goes to an idle device drawn uniformly (stream: the dispatch number).
  void dispatch_idle(RunControl& run) {
    std::vector<int> idle;
    for (int d = 0; d < run.devices(); ++d)
      if (!run.busy(d)) idle.push_back(d);
    if (idle.empty()) return;
    Rng rng(experiment_.config.run.seed, Purpose::kSelection, static_cast<std::uint64_t>(run.dispatched()), 1);
    run.dispatch(idle[rng.below(idle.size())], run.dispatched(), run.version() + 1);
  }

  const Experiment& experiment_;
  Algorithm& algorithm_;
  int k_;
  bool wait_;
  std::vector<TaskResult> since_last_;  // finished since the last aggregation, in finish order
  int ok_ = 0;
  std::vector<int> waiting_;  // semi-async reporters waiting for the next model
};

}  // namespace

std::unique_ptr<Schedule> make_asynchronous_schedule(const Experiment& e, Algorithm& a) {
  return std::make_unique<BufferedSchedule>(e, a, a.aggregation_size(), false);
}

std::unique_ptr<Schedule> make_semi_asynchronous_schedule(const Experiment& e, Algorithm& a) {
  const int n = static_cast<int>(a.select(1).size());
  const int k = std::max(1, static_cast<int>(std::ceil(e.config.algorithm.semi_async_fraction * n - 1e-9)));
  return std::make_unique<BufferedSchedule>(e, a, k, true);
}

}  // namespace edgesim
