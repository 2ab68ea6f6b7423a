#pragma once
// When devices start and when their updates merge: a schedule answers the event loop's events
// (runtime/event_loop.hpp) — a task finished, a timer fired — by dispatching devices, setting
// timers and aggregating sets of finished updates. Any policy runs under any schedule
// (`algorithm.schedule`; "auto" = the policy's own):
//   sync        rounds: the policy's selected devices all start at the round's start; the round
//               ends when the last reports (`straggler = "wait_all"`) or at `deadline_s`, when the
//               ones still running are cancelled (`"deadline"`); then one aggregation.
//   async       `concurrency` devices always training; a freed slot goes to an idle device drawn
//               uniformly; every `aggregation_size()` OK updates are one aggregation
//               (FedAsync: 1, FedBuff: K). Stale updates carry their staleness.
//   semi_async  the participants (select(1)) all train; as soon as K = ceil(ρ·N) of them have
//               reported OK updates, they are aggregated and the reporters start again from the
//               new model; the others keep training on the model they started from and arrive
//               stale (`semi_async_fraction` = ρ). When none is left training, what has arrived
//               is aggregated.
//   ssp         stale-synchronous parallel (Ho et al. 2013): the participants (select(1)) train
//               continuously; every OK update is one aggregation, applied on arrival; a device
//               that has finished more than s = `staleness_bound` tasks more than the slowest
//               participant waits (idle) until it catches up. s = 0: bulk-synchronous.
#include <memory>
#include <string>
#include <vector>

#include "edgesim/algo/algorithm.hpp"

namespace edgesim {

// The schedule's handle on the run (implemented by the event loop).
class RunControl {
 public:
  virtual ~RunControl() = default;
  virtual double now() const = 0;
  virtual std::int64_t version() const = 0;     // aggregations applied so far
  virtual int round() const = 0;                // the /rounds row the next aggregation writes (1-based)
  virtual bool done() const = 0;                // every round aggregated, or the last one reached run.until_virtual_s
  virtual const torch::Tensor& global() const = 0;
  virtual int devices() const = 0;
  virtual bool busy(int device) const = 0;      // a task of the device is in flight
  virtual bool idle_run() const = 0;            // no task in flight at all
  virtual std::int64_t dispatched() const = 0;  // tasks started so far
  // Starts a task for `device` at now() from the current global model, as the policy plans it.
  // `stream`: the task's random streams; `clock_round`: the round whose slowdown applies.
  virtual void dispatch(int device, std::int64_t stream, std::int64_t clock_round) = 0;
  // Every task in flight, cancelled: trained and timed, in (end, device) order.
  virtual std::vector<TaskResult> cancel_all() = 0;
  virtual void set_timer(double at) = 0;  // one timer; setting replaces it
  virtual void clear_timer() = 0;
  virtual void advance_to(double t) = 0;  // move the clock forward (a round that ended later than its last event)
  // One aggregation: merge `accepted` (pointers into `tasks` or elsewhere) with the policy's
  // rule, then record `tasks` in /tasks (in the order given) and a row of /rounds.
  virtual void aggregate(const std::vector<TaskResult>& tasks, const std::vector<const TaskResult*>& accepted) = 0;
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual void start(RunControl& run) = 0;  // a fresh run
  // A finished task, in virtual-time order (its staleness and aggregation round already set).
  virtual void on_finished(RunControl& run, TaskResult task) = 0;
  virtual void on_timer(RunControl& run) = 0;
  // What it carries from one aggregation to the next, for checkpoints (taken right after one).
  virtual std::string save_state() const { return {}; }
  virtual void load_state(const std::string& state) {}
};

// The schedule `algorithm.schedule` names for this policy.
std::unique_ptr<Schedule> make_schedule(const Experiment& experiment, Algorithm& algorithm);
// "sync", "async", "semi_async" or "ssp": the config's choice, or the policy's own for "auto".
std::string schedule_name(const Experiment& experiment, const Algorithm& algorithm);

}  // namespace edgesim
