#include "edgesim/runtime/event_loop.hpp"

#include <chrono>
#include <limits>
#include <optional>
#include <stdexcept>

#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/model/gather_cache.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/task_clock.hpp"

namespace edgesim {
namespace {

constexpr double kNever = std::numeric_limits<double>::infinity();

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A TaskPlan in a checkpoint.
std::string encode_plan(const TaskPlan& p) {
  ByteWriter w;
  w.pod<std::uint8_t>(p.submodel.has_value());
  if (p.submodel) {
    w.pod<std::uint64_t>(p.submodel->kept.size());
    for (const auto& kept : p.submodel->kept) w.list(kept);
    w.pod(p.submodel->depth);
    w.list(p.submodel->exits);
    w.pod(p.submodel->rate);
  }
  w.str(p.trainer);
  w.pod<std::uint64_t>(p.options.all().size());
  for (const auto& [name, values] : p.options.all()) {
    w.str(name);
    w.list(values);
  }
  for (const auto* list : {&p.downloads, &p.uploads}) w.list(*list);
  w.pod<std::uint8_t>(p.serverless);
  return w.out;
}

TaskPlan decode_plan(const std::string& s, const std::string& origin) {
  ByteReader r(s.data(), s.size(), origin);
  TaskPlan p;
  if (r.pod<std::uint8_t>("a task plan")) {
    SubmodelSpec sub;
    sub.kept.resize(r.pod<std::uint64_t>("a task plan"));
    for (auto& kept : sub.kept) kept = r.list<std::int64_t>("a task plan");
    sub.depth = r.pod<int>("a task plan");
    sub.exits = r.list<std::int32_t>("a task plan");
    sub.rate = r.pod<double>("a task plan");
    p.submodel = std::move(sub);
  }
  p.trainer = r.str("a task plan");
  const auto options = r.pod<std::uint64_t>("a task plan");
  for (std::uint64_t i = 0; i < options; ++i) {
    std::string name = r.str("a task plan");
    p.options.set(name, r.list<double>("a task plan"));
  }
  p.downloads = r.list<Transfer>("a task plan");
  p.uploads = r.list<Transfer>("a task plan");
  p.serverless = r.pod<std::uint8_t>("a task plan") != 0;
  return p;
}

class EventLoop : public RunControl {
 public:
  EventLoop(const Experiment& e, Algorithm& a, Schedule& s, Transport& t, torch::Tensor& global, double& now,
            const RecordAggregation& record)
      : e_(e), algorithm_(a), schedule_(s), transport_(t), global_(global), now_(now), record_(record),
        links_(links_of(e.devices)), busy_(e.devices.size(), 0) {}

  // RunControl
  double now() const override { return now_; }
  std::int64_t version() const override { return version_; }
  int round() const override { return round_; }
  bool done() const override { return round_ > e_.config.run.rounds || budget_spent_; }
  const torch::Tensor& global() const override { return global_; }
  int devices() const override { return static_cast<int>(busy_.size()); }
  bool busy(int device) const override { return busy_.at(device) != 0; }
  bool idle_run() const override { return flying_.empty(); }
  std::int64_t dispatched() const override { return dispatched_; }

  void dispatch(int device, std::int64_t stream, std::int64_t clock_round) override {
    if (busy_.at(device)) throw std::logic_error("schedule dispatched a busy device");
    const double t0 = wall_seconds();
    InFlight f;
    f.plan = algorithm_.plan(device, static_cast<int>(clock_round));
    f.version = version_, f.start = global_, f.start_s = now_;
    build_order(f, device, stream, clock_round);
    extraction_s_ += wall_seconds() - t0;
    busy_[device] = 1;
    by_device_[device] = dispatched_;
    flying_.emplace(dispatched_++, std::move(f));
  }

  std::vector<TaskResult> cancel_all() override {
    train_untrained();
    std::vector<TaskResult> out;
    while (!flying_.empty()) out.push_back(take(earliest_trained()));
    return out;
  }

  void set_timer(double at) override { timer_ = at; }
  void clear_timer() override { timer_ = kNever; }
  void advance_to(double t) override {
    if (t < now_) throw std::logic_error("virtual time would go backwards");
    now_ = t;
  }

  void aggregate(const std::vector<TaskResult>& tasks, const std::vector<const TaskResult*>& accepted) override {
    const double t0 = wall_seconds();
    algorithm_.merge(global_, accepted);
    const double merge_s = extraction_s_ + (wall_seconds() - t0);
    extraction_s_ = 0;
    ++version_;
    budget_spent_ = budget_spent();
    record_(round_, tasks, static_cast<std::int64_t>(accepted.size()), merge_s);
    ++round_;
    aggregated_ = true;
  }

  // The loop.
  bool run(const Checkpoint* resume, const SnapshotSink& snapshot) {
    try {
      if (resume) restore(*resume);
      else schedule_.start(*this);
      snapshot(take_snapshot());  // a stop before the next aggregation checkpoints this state
      while (!done()) {
        if (stop_requested()) return false;
        aggregated_ = false;
        step();
        if (aggregated_) snapshot(take_snapshot());
      }
    } catch (const StopRequested&) {
      return false;
    }
    return true;
  }

 private:
  struct InFlight {
    TaskPlan plan;
    TaskOrder order;  // without its weights: order_of(f) makes them from start and gather when sent
    torch::Tensor start, gather;  // the global model it started from; its submodel's gather index
    std::int64_t version = 0;
    double start_s = 0, lower_bound_s = 0;  // it cannot end before its downloads arrive
    std::optional<TaskResult> result;       // once trained (and timed)
  };

  // Checked right after an aggregation only: the run ends with the one that reaches the budget.
  bool budget_spent() const {
    const double budget = e_.config.run.until_virtual_s;
    return budget > 0 && now_ >= budget;
  }

  void build_order(InFlight& f, int device, std::int64_t stream, std::int64_t clock_round) {
    TaskOrder& o = f.order;
    o.device = device, o.round = stream, o.clock_round = clock_round;
    o.trainer = f.plan.trainer, o.options = f.plan.options;
    if (auto it = device_state_.find(device); it != device_state_.end()) o.tensors = it->second;
    if (f.plan.submodel && !keeps_everything(e_.model, *f.plan.submodel)) {
      f.gather = gather_cache_.get(e_.model, *f.plan.submodel);
      for (const auto& kept : f.plan.submodel->kept) o.units.push_back(static_cast<std::int32_t>(kept.size()));
      o.depth = f.plan.submodel->depth;
      o.exits = f.plan.submodel->exits;
    }
    const auto bytes = static_cast<std::uint64_t>(f.gather.defined() ? f.gather.numel() : f.start.numel()) * 4;
    f.lower_bound_s = f.start_s + download_seconds(task_downloads(f.plan, device, bytes), links_);
  }

  // The order as sent: the weights the device starts from, its (sub)model of the start model.
  TaskOrder order_of(const InFlight& f) {
    const double t0 = wall_seconds();
    TaskOrder o = f.order;
    o.tensors["weights"] = f.gather.defined() ? extract_submodel(f.start, f.gather) : f.start;
    extraction_s_ += wall_seconds() - t0;
    return o;
  }

  // Trains every untrained task in flight at once.
  void train_untrained() {
    std::vector<std::int64_t> ids;
    for (const auto& [id, f] : flying_)
      if (!f.result) ids.push_back(id);
    if (!ids.empty()) train(ids);
  }

  // Trains these tasks in flight (in parallel on the executors) and times them.
  // Peer-to-peer (serverless) tasks trained together share their peers' links, so they are
  // timed together; a star task's link is its own and the server's, timed alone.
  void train(const std::vector<std::int64_t>& ids) {
    OrderBatch batch;
    for (auto id : ids) batch.devices.push_back(flying_.at(id).order.device);
    batch.make = [&](std::size_t i) { return order_of(flying_.at(ids[i])); };
    std::vector<TaskResult> results = transport_.run_tasks(batch);
    std::vector<const TaskPlan*> plans;
    std::vector<double> starts;
    std::vector<std::int64_t> clock_rounds;
    std::vector<TaskResult*> peers;
    for (auto& r : results) {
      const InFlight& f = flying_.at(by_device_.at(static_cast<int>(r.device)));
      if (!f.plan.serverless) {
        apply_clock(e_, links_, f.plan, f.start_s, f.order.schedule_round(), r);
        continue;
      }
      plans.push_back(&f.plan), starts.push_back(f.start_s), clock_rounds.push_back(f.order.schedule_round());
      peers.push_back(&r);
    }
    if (!peers.empty()) apply_clock_together(e_, links_, plans, starts, clock_rounds, peers);
    for (auto& r : results) {
      InFlight& f = flying_.at(by_device_.at(static_cast<int>(r.device)));
      r.gather = f.gather;
      r.rate = f.plan.submodel ? f.plan.submodel->rate : 1.0;
      r.start_version = f.version;
      r.start_model = f.start;
      f.result = std::move(r);
    }
  }

  std::int64_t earliest_trained() const {
    std::int64_t best = -1;
    for (const auto& [id, f] : flying_) {
      if (!f.result) continue;
      if (best < 0) {
        best = id;
        continue;
      }
      const TaskResult& b = *flying_.at(best).result;
      if (f.result->end_s < b.end_s || (f.result->end_s == b.end_s && f.result->device < b.device)) best = id;
    }
    return best;
  }

  TaskResult take(std::int64_t id) {
    auto it = flying_.find(id);
    TaskResult t = std::move(*it->second.result);
    busy_[t.device] = 0;
    by_device_.erase(static_cast<int>(t.device));
    flying_.erase(it);
    return t;
  }

  // Applies the next event in virtual-time order.
  void step() {
    for (;;) {
      const std::int64_t best = earliest_trained();
      const double next = std::min(best >= 0 ? flying_.at(best).result->end_s : kNever, timer_);
      bool could_be_earlier = false;
      for (const auto& [id, f] : flying_) could_be_earlier |= !f.result && f.lower_bound_s <= next;
      if (could_be_earlier) {
        train_untrained();
        continue;
      }
      if (next == kNever) throw std::logic_error("the schedule left nothing to wait for");
      if (next < now_) throw std::logic_error("virtual time would go backwards");
      if (best >= 0 && flying_.at(best).result->end_s <= timer_) {  // tasks before timers at the same time
        TaskResult t = take(best);
        now_ = t.end_s;
        t.staleness = version_ - t.start_version;
        t.round = round_;  // the aggregation it counts toward
        // Kept for the device's next task, and left on the result for the policy's merge (shared
        // tensors, not copies).
        if (t.status == TaskStatus::kOk && !t.state.empty()) device_state_[static_cast<int>(t.device)] = t.state;
        schedule_.on_finished(*this, std::move(t));
      } else {
        now_ = timer_;
        timer_ = kNever;
        schedule_.on_timer(*this);
      }
      return;
    }
  }

  LoopSnapshot take_snapshot() const {
    LoopSnapshot s;
    s.round = round_ - 1;
    s.now = now_;
    s.loop.dispatched = dispatched_, s.loop.version = version_;
    s.loop.schedule_state = schedule_.save_state();
    s.loop.timer_s = timer_ == kNever ? -1 : timer_;
    for (const auto& [id, f] : flying_) {
      s.loop.in_flight.push_back({id, f.order.device, f.version, f.order.round, f.order.clock_round, f.start_s,
                                  f.result ? f.result->end_s : 0.0, f.result.has_value(), encode_plan(f.plan)});
      if (f.version != version_) s.start_models[f.version] = f.start;  // the current one is the global model
    }
    for (const auto& [d, tensors] : device_state_) s.device_state[d] = tensors;
    return s;
  }

  void restore(const Checkpoint& c) {
    round_ = static_cast<int>(c.round) + 1;
    budget_spent_ = c.round > 0 && budget_spent();  // a checkpoint is taken right after an aggregation
    dispatched_ = c.dispatched, version_ = c.version;
    for (const auto& t : c.device_state) device_state_[static_cast<int>(t.device)][t.name] = from_floats(t.values);
    std::map<std::int64_t, torch::Tensor> models{{version_, global_}};
    for (const auto& [v, w] : c.start_models) models[v] = from_floats(w);
    bool retrain = false;
    for (const auto& s : c.in_flight) {
      InFlight f;
      f.plan = decode_plan(s.plan, "checkpoint task plan");
      f.version = s.version, f.start = models.at(s.version), f.start_s = s.start_s;
      build_order(f, static_cast<int>(s.device), s.stream, s.clock_round);
      busy_[s.device] = 1;
      by_device_[static_cast<int>(s.device)] = s.dispatch;
      flying_.emplace(s.dispatch, std::move(f));
      retrain |= s.trained;
    }
    schedule_.load_state(c.schedule_state);
    timer_ = c.timer_s < 0 ? kNever : c.timer_s;
    if (!retrain) return;
    // Retrain the tasks that had been trained; keep their times as first charged (a measured
    // clock would charge them anew). The others train when the loop needs them.
    std::vector<std::int64_t> ids;
    for (const auto& s : c.in_flight)
      if (s.trained) ids.push_back(s.dispatch);
    train(ids);
    for (const auto& s : c.in_flight)
      if (s.trained) flying_.at(s.dispatch).result->end_s = s.end_s;
  }

  const Experiment& e_;
  Algorithm& algorithm_;
  Schedule& schedule_;
  Transport& transport_;
  torch::Tensor& global_;
  double& now_;
  const RecordAggregation& record_;
  std::vector<LinkProfile> links_;
  std::vector<char> busy_;
  std::map<std::int64_t, InFlight> flying_;  // by dispatch number
  std::map<int, std::int64_t> by_device_;    // a device has at most one task in flight
  std::map<int, NamedTensors> device_state_;
  GatherCache gather_cache_;
  std::int64_t dispatched_ = 0, version_ = 0;
  int round_ = 1;
  double timer_ = kNever;
  double extraction_s_ = 0;  // wall seconds extracting submodels since the last aggregation
  bool aggregated_ = false;
  bool budget_spent_ = false;  // the last aggregation reached run.until_virtual_s
};

}  // namespace

bool run_event_loop(const Experiment& e, Algorithm& algorithm, Schedule& schedule, Transport& transport,
                    torch::Tensor& global, double& now, const Checkpoint* resume, const RecordAggregation& record,
                    const SnapshotSink& snapshot) {
  EventLoop loop(e, algorithm, schedule, transport, global, now, record);
  return loop.run(resume, snapshot);
}

}  // namespace edgesim
