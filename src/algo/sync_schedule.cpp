// Synchronous rounds (algo/schedule.hpp).
#include <algorithm>
#include <sstream>

#include "edgesim/algo/round_rules.hpp"
#include "edgesim/algo/schedule.hpp"

namespace edgesim {
namespace {

class SynchronousSchedule : public Schedule {
 public:
  SynchronousSchedule(const Experiment& e, Algorithm& a) : experiment_(e), algorithm_(a) {}

  void start(RunControl& run) override { begin(run); }

  void on_finished(RunControl& run, TaskResult task) override {
    arrived_.push_back(std::move(task));
    if (static_cast<int>(arrived_.size()) == expected_) close(run);
  }

  void on_timer(RunControl& run) override {
    for (auto& t : run.cancel_all()) arrived_.push_back(std::move(t));
    close(run);
  }

  std::string save_state() const override {
    std::ostringstream out;
    out.precision(17);
    out << round_start_ << ' ' << expected_;
    return out.str();
  }
  void load_state(const std::string& state) override {
    std::istringstream in(state);
    in >> round_start_ >> expected_;
  }

 private:
  void begin(RunControl& run) {
    if (run.done()) return;
    const int round = run.round();
    round_start_ = run.now();
    algorithm_.begin_round(run.global(), round);
    const std::vector<int> devices = algorithm_.select(round);
    expected_ = static_cast<int>(devices.size());
    for (int d : devices) run.dispatch(d, round, round);
    const auto& a = experiment_.config.algorithm;
    if (a.straggler == "deadline") run.set_timer(round_start_ + a.deadline_s);
    if (expected_ == 0) close(run);
  }

  // `arrived_` is in completion order (end time, then device).
  void close(RunControl& run) {
    run.clear_timer();
    const auto& a = experiment_.config.algorithm;
    const double end = a.straggler == "deadline" ? close_with_deadline(round_start_, a.deadline_s, arrived_)
                                                 : close_wait_all(round_start_, arrived_);
    algorithm_.observe_round(arrived_);
    // Merging and recording go in device order.
    std::sort(arrived_.begin(), arrived_.end(), [](const auto& x, const auto& y) { return x.device < y.device; });
    std::vector<const TaskResult*> accepted;
    for (const auto& t : arrived_)
      if (t.status == TaskStatus::kOk) accepted.push_back(&t);
    run.advance_to(end);
    run.aggregate(arrived_, accepted);
    arrived_.clear();
    begin(run);
  }

  const Experiment& experiment_;
  Algorithm& algorithm_;
  std::vector<TaskResult> arrived_;
  double round_start_ = 0;
  int expected_ = 0;
};

}  // namespace

std::unique_ptr<Schedule> make_synchronous_schedule(const Experiment& e, Algorithm& a) {
  return std::make_unique<SynchronousSchedule>(e, a);
}

}  // namespace edgesim
