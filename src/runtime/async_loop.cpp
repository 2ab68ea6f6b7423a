#include "edgesim/runtime/async_loop.hpp"

#include <algorithm>
#include <optional>

#include "edgesim/common/rng.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/task_clock.hpp"

namespace edgesim {

bool run_async(const Experiment& e, Algorithm& algorithm, Transport& transport, torch::Tensor& global, double& now,
               const Checkpoint* resume, const RecordRound& record_round, const SnapshotSink& snapshot) {
  const auto& cfg = e.config;
  struct InFlight {
    TaskOrder order;
    torch::Tensor start;         // the global model it started from
    std::int64_t version = 0;    // global version at its start
    double start_s = 0, end_s = 0;  // end: predicted, then as charged once trained
    std::optional<TaskResult> result;
  };
  std::map<std::int64_t, InFlight> flying;  // by dispatch number
  std::vector<char> busy(e.devices.size(), 0);
  std::int64_t dispatched = 0, version = 0;
  auto dispatch = [&] {
    std::vector<int> idle;
    for (std::size_t d = 0; d < busy.size(); ++d)
      if (!busy[d]) idle.push_back(static_cast<int>(d));
    Rng rng(cfg.run.seed, Purpose::kSelection, static_cast<std::uint64_t>(dispatched), 1);
    const int d = idle[rng.below(idle.size())];
    busy[d] = 1;
    InFlight f;
    f.order.device = d, f.order.round = dispatched, f.order.weights = global;  // round: the shuffle stream
    f.order.clock_round = version + 1;
    f.start = global, f.version = version, f.start_s = now;
    f.end_s = now + predicted_duration(e, f.order, f.order.clock_round);
    flying.emplace(dispatched++, std::move(f));
  };
  // Trains `ids` at once and charges each its virtual times.
  auto train = [&](const std::vector<std::int64_t>& ids) {
    std::vector<TaskOrder> orders;
    for (auto id : ids) orders.push_back(flying.at(id).order);
    for (auto& r : transport.run_tasks(orders)) {
      InFlight& f = flying.at(r.round);
      std::vector<TaskResult> one{std::move(r)};
      apply_clock(e, f.start_s, f.order.clock_round, one);
      f.end_s = one[0].end_s;
      f.result = std::move(one[0]);
    }
  };
  auto take_snapshot = [&](int round) {
    AsyncSnapshot a{round, now, dispatched, version, {}, {}};
    for (const auto& [id, f] : flying) {
      a.in_flight.push_back({id, f.order.device, f.version, f.start_s, f.end_s, f.result.has_value()});
      a.start_models[f.version] = f.start;
    }
    snapshot(std::move(a));
  };

  int round = 1;
  if (resume) {
    round = static_cast<int>(resume->round) + 1;
    dispatched = resume->dispatched, version = resume->version;
    std::map<std::int64_t, torch::Tensor> models;  // by version
    for (const auto& [v, w] : resume->start_models)
      models[v] = from_floats(w);
    std::vector<std::int64_t> retrain;
    for (const auto& c : resume->in_flight) {
      InFlight f;
      f.order.device = c.device, f.order.round = c.dispatch, f.order.weights = models.at(c.version);
      f.order.clock_round = c.version + 1;
      f.start = f.order.weights, f.version = c.version, f.start_s = c.start_s, f.end_s = c.end_s;
      busy[c.device] = 1;
      flying.emplace(c.dispatch, std::move(f));
      if (c.trained) retrain.push_back(c.dispatch);
    }
    try {
      if (!retrain.empty()) train(retrain);
    } catch (const StopRequested&) {
      return false;
    }
    // Keep the times as first charged: a measured clock would charge a retrained task anew.
    for (const auto& c : resume->in_flight)
      if (c.trained) flying.at(c.dispatch).end_s = flying.at(c.dispatch).result->end_s = c.end_s;
  } else {
    for (int i = 0; i < algorithm.concurrency(); ++i) dispatch();
  }
  take_snapshot(round - 1);  // a stop before the next aggregation checkpoints this state
  std::vector<TaskResult> since_last;  // finished since the last aggregation, in finish order
  std::int64_t applied = 0;
  while (round <= cfg.run.rounds) {
    if (stop_requested()) return false;
    auto earliest = std::min_element(flying.begin(), flying.end(), [](const auto& a, const auto& b) {
      const auto& x = a.second;
      const auto& y = b.second;
      return x.end_s != y.end_s ? x.end_s < y.end_s : x.order.device < y.order.device;
    });
    if (!earliest->second.result) {
      std::vector<std::int64_t> untrained;
      for (const auto& [id, f] : flying)
        if (!f.result) untrained.push_back(id);
      try {
        train(untrained);
      } catch (const StopRequested&) {
        return false;
      }
      continue;
    }
    InFlight f = std::move(earliest->second);
    flying.erase(earliest);
    TaskResult t = std::move(*f.result);
    busy[t.device] = 0;
    now = t.end_s;
    t.staleness = version - f.version;
    t.round = round;  // the aggregation it counts toward
    bool changed = false;
    if (t.status == TaskStatus::kOk) {
      changed = algorithm.apply_async(global, t, f.start, t.staleness);
      ++applied;
    }
    t.weights = torch::Tensor();
    since_last.push_back(std::move(t));
    if (changed) {
      ++version;
      record_round(round, since_last, applied, 0.0);
      since_last.clear();
      applied = 0;
    }
    dispatch();  // from the new global model, if it changed
    if (changed) take_snapshot(round++);
  }
  return true;
}

}  // namespace edgesim
