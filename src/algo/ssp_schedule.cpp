// The stale-synchronous schedule (algo/schedule.hpp; Ho et al., NIPS 2013). Each participant
// has a clock, the tasks it has finished (any status: a failing device must not stall the
// others forever). Every OK update is one aggregation, applied on arrival with the policy's
// merge (failed tasks are recorded with the next one). A device whose clock is more than s
// ahead of the slowest participant's waits, idle, until the slowest catches up; waiting devices
// are released in device order. With s = 0 every device waits for all at each iteration
// (bulk-synchronous).
#include <algorithm>
#include <sstream>

#include "edgesim/algo/schedule.hpp"

namespace edgesim {
namespace {

class StaleSynchronousSchedule : public Schedule {
 public:
  StaleSynchronousSchedule(const Experiment& e, Algorithm& a)
      : algorithm_(a), bound_(e.config.algorithm.staleness_bound) {}

  void start(RunControl& run) override {
    algorithm_.begin_round(run.global(), run.round());
    participants_ = algorithm_.select(1);
    clock_.assign(static_cast<std::size_t>(run.devices()), 0);
    for (int d : participants_) run.dispatch(d, run.dispatched(), run.version() + 1);
  }

  void on_finished(RunControl& run, TaskResult task) override {
    const int device = static_cast<int>(task.device);
    ++clock_.at(device);
    const bool ok = task.status == TaskStatus::kOk;
    if (!ok) task.weights = torch::Tensor();
    pending_.push_back(std::move(task));
    if (ok) {
      run.aggregate(pending_, {&pending_.back()});
      pending_.clear();
      if (run.done()) return;
      algorithm_.begin_round(run.global(), run.round());
    }
    waiting_.push_back(device);
    std::sort(waiting_.begin(), waiting_.end());
    release(run);
  }

  void on_timer(RunControl&) override {}

  std::string save_state() const override {
    std::ostringstream out;
    out << participants_.size();
    for (int d : participants_) out << ' ' << d;
    out << ' ' << clock_.size();
    for (auto c : clock_) out << ' ' << c;
    out << ' ' << waiting_.size();
    for (int d : waiting_) out << ' ' << d;
    return out.str();
  }
  void load_state(const std::string& state) override {
    std::istringstream in(state);
    std::size_t n = 0;
    in >> n;
    participants_.resize(n);
    for (auto& d : participants_) in >> d;
    in >> n;
    clock_.resize(n);
    for (auto& c : clock_) in >> c;
    in >> n;
    waiting_.resize(n);
    for (auto& d : waiting_) in >> d;
  }

 private:
  // Starts every waiting device that is at most s iterations ahead of the slowest.
  void release(RunControl& run) {
    std::int64_t slowest = clock_.at(participants_.front());
    for (int d : participants_) slowest = std::min(slowest, clock_.at(d));
    std::vector<int> still;
    for (int d : waiting_) {
      if (clock_.at(d) - slowest <= bound_) run.dispatch(d, run.dispatched(), run.version() + 1);
      else still.push_back(d);
    }
    waiting_ = std::move(still);
  }

  Algorithm& algorithm_;
  std::int64_t bound_;
  std::vector<int> participants_;
  std::vector<std::int64_t> clock_;  // per device: tasks finished
  std::vector<int> waiting_;         // blocked by the bound, ascending
  std::vector<TaskResult> pending_;  // failed tasks since the last aggregation
};

}  // namespace

std::unique_ptr<Schedule> make_stale_synchronous_schedule(const Experiment& e, Algorithm& a) {
  return std::make_unique<StaleSynchronousSchedule>(e, a);
}

}  // namespace edgesim
