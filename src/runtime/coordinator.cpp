#include "edgesim/runtime/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "edgesim/device/clock.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/event_queue.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/stop_signal.hpp"

namespace edgesim {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format_duration(double s) {
  const long t = std::lround(std::max(0.0, s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

// Virtual start/end/compute/comm of each task from its device profile as it is in `round`
// (profiles may follow a slowdown schedule).
void apply_clock(const Experiment& e, double round_start, std::int64_t round, std::vector<TaskResult>& tasks) {
  for (auto& t : tasks) {
    const DeviceProfile d = e.devices[t.device].at_round(round);
    TaskTiming timing = time_task(d, t.reference_compute_s, t.bytes_down, t.bytes_up);
    if (t.status == TaskStatus::kOom) timing.compute_s = timing.upload_s = 0;  // fails on arrival
    t.start_s = round_start;
    t.download_s = timing.download_s;
    t.compute_s = timing.compute_s;
    t.upload_s = timing.upload_s;
    t.end_s = round_start + timing.total_s();
  }
}

// Gather indices by submodel (kept units and depth): static specs (HeteroFL, FjORD) are
// computed once; rolling ones (FedRolex) change every round, so the cache is bounded.
class GatherCache {
 public:
  const torch::Tensor& get(const ModelSpec& model, const SubmodelSpec& sub) {
    Key key{sub.kept, sub.depth};
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    if (cache_.size() >= 64) cache_.clear();
    return cache_.emplace(std::move(key), gather_tensor(gather_index(model, sub))).first->second;
  }

 private:
  using Key = std::pair<std::vector<std::vector<std::int64_t>>, int>;
  std::map<Key, torch::Tensor> cache_;
};

// What device d gets in `round`: the whole model, or the submodel its policy picks (only that
// part travels, and the executor builds a dense model of its shape).
// `gather` and `rate` are what the coordinator keeps to merge and record the result.
TaskOrder make_order(const Experiment& e, Algorithm& algorithm, GatherCache& cache, const torch::Tensor& global, int d,
                     int round, torch::Tensor& gather, double& rate) {
  TaskOrder o;
  o.device = d, o.round = round, o.weights = global;
  o.dropout_rates = algorithm.dropout_rates(d, round);
  o.objective = algorithm.local_objective(d, round);
  const std::optional<SubmodelSpec> sub = algorithm.submodel(d, round);
  rate = sub ? sub->rate : 1.0;
  if (!sub || keeps_everything(e.model, *sub)) return o;
  gather = cache.get(e.model, *sub);
  o.weights = extract_submodel(global, gather);
  for (const auto& kept : sub->kept) o.units.push_back(static_cast<std::int32_t>(kept.size()));
  o.depth = sub->depth;
  // HeteroFL's scaler compensates for missing width; a submodel cut only in depth has none.
  bool narrower = false;
  for (std::size_t g = 0; g < sub->kept.size(); ++g)
    narrower |= static_cast<int>(sub->kept[g].size()) < e.model.groups[g].units;
  if (e.config.model.scaler && narrower) o.train_scale = 1.0 / sub->rate;
  return o;
}

// The global model cut to each of the policy's evaluation rates (as the policy deploys it on a
// weak device: a prefix in width, or in depth), evaluated on the test set.
std::vector<WidthEvalRecord> evaluate_widths(const Experiment& e, GatherCache& cache, const Algorithm& algorithm,
                                             const torch::Tensor& global, int round, const torch::Tensor& x,
                                             const torch::Tensor& y) {
  std::vector<WidthEvalRecord> out;
  for (double r : algorithm.eval_rates()) {
    if (r >= 1.0) continue;
    const SubmodelSpec sub = algorithm.eval_submodel(e.model, r);
    auto net = build_network(submodel_architecture(e.model, sub));
    load_weights(*net, extract_submodel(global, cache.get(e.model, sub)));
    const Evaluation ev = evaluate(net, x, y);
    out.push_back({round, r, ev.accuracy, ev.loss});
  }
  return out;
}

TaskRecord to_record(const TaskResult& t) {
  return {t.device,     t.round,    t.start_s,      t.end_s,   t.compute_s, t.download_s + t.upload_s,
          t.download_s, t.upload_s, t.memory_bytes, t.samples, t.status, t.peak_memory_bytes, t.staleness, t.rate};
}

// How long a task will take, known before it trains (analytic clock): what the executor's
// estimate and FLOP count will charge. Asynchronous runs order their events by it.
double predicted_duration(const Experiment& e, const TaskOrder& o, std::int64_t round) {
  const auto& a = e.config.algorithm;
  const DeviceProfile device = e.devices.at(o.device).at_round(round);
  const std::uint64_t bytes = static_cast<std::uint64_t>(o.weights.numel()) * 4;
  if (training_memory(e.model, a.batch_size, a.momentum > 0).total() > device.memory_cap_bytes)
    return transfer_seconds(bytes, device.downlink_mbps, device.latency_s);  // refused on arrival
  const double samples = double(a.local_epochs) * double(e.partition.indices.at(o.device).size());
  const double reference_s = training_flops_per_sample(e.model) * samples / e.device_set.reference_flops_per_s;
  return time_task(device, reference_s, bytes, bytes).total_s();
}

// The state of an asynchronous run right after an aggregation (no update buffered): what a
// checkpoint saves. Tensors are shared, not copied; they are never modified in place.
struct AsyncSnapshot {
  int round = 0;  // the last finished aggregation
  double now = 0;
  std::int64_t dispatched = 0, version = 0;
  std::vector<Checkpoint::InFlight> in_flight;
  std::map<std::int64_t, torch::Tensor> start_models;  // by version
};

// The asynchronous loop (FedAsync, FedBuff): `concurrency` devices always training; finished
// tasks are handed to the policy in virtual-time order (end time, then device), whatever order
// the executors finish in. Every task still in flight has a fixed starting model, so whenever
// the earliest one is untrained, all untrained ones train at once, in parallel on the
// executors. `snapshot` receives the state after every aggregation; a resumed run starts from
// `resume` and retrains the tasks that had been trained. Returns false when a stop signal
// interrupted it.
template <class RecordRound, class Snapshot>
bool run_async(const Experiment& e, Algorithm& algorithm, Transport& transport, torch::Tensor& global, double& now,
               const Checkpoint* resume, RecordRound&& record_round, Snapshot&& snapshot) {
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
      models[v] = torch::from_blob(const_cast<float*>(w.data()), {static_cast<std::int64_t>(w.size())}, torch::kFloat32)
                      .clone();
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

}  // namespace

RunSummary run_coordinator(const Experiment& e, Algorithm& algorithm, Transport& transport, ResultsWriter& results,
                           const CoordinatorOptions& options) {
  const auto& cfg = e.config;
  const auto wall_start = std::chrono::steady_clock::now();
  const double wall_before = options.resume ? options.resume->wall_time_s : 0.0;
  auto wall_now = [&] {
    return wall_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  };

  torch::manual_seed(Rng(cfg.run.seed, Purpose::kModelInit).next() >> 1);
  auto net = build_network(e.model);
  torch::Tensor global = flatten_weights(*net);

  RunSummary summary;
  double now = 0;
  int first_round = 1;
  if (const Checkpoint* c = options.resume) {
    global = torch::from_blob(const_cast<float*>(c->weights.data()), {static_cast<std::int64_t>(c->weights.size())},
                              torch::kFloat32)
                 .clone();
    now = c->virtual_time_s;
    first_round = static_cast<int>(c->round) + 1;
    summary.rounds = static_cast<int>(c->round);
    summary.final_accuracy = c->final_accuracy;
    summary.best_accuracy = c->best_accuracy;
    algorithm.load_state(c->algorithm_state);
  }
  // The state after the last finished round (asynchronous: after the last aggregation, with
  // the tasks then in flight): what a resumed run starts from.
  std::optional<AsyncSnapshot> last_async;
  auto floats = [](const torch::Tensor& t) {
    const auto c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  };
  auto checkpoint = [&] {
    if (options.checkpoint_path.empty()) return;
    Checkpoint c;
    c.config_toml = cfg.resolved_toml;
    c.round = summary.rounds;
    c.virtual_time_s = now, c.wall_time_s = wall_now();
    c.final_accuracy = summary.final_accuracy, c.best_accuracy = summary.best_accuracy;
    c.weights = floats(global);
    c.algorithm_state = algorithm.save_state();
    if (last_async) {  // the global model has not changed since that aggregation
      c.virtual_time_s = last_async->now;
      c.dispatched = last_async->dispatched, c.version = last_async->version;
      c.in_flight = last_async->in_flight;
      for (const auto& [v, model] : last_async->start_models) c.start_models.emplace_back(v, floats(model));
    }
    save_checkpoint(options.checkpoint_path, c);
  };
  auto stop = [&] {
    checkpoint();
    summary.stopped = true;
    summary.virtual_time_s = now;
    summary.wall_time_s = wall_now();
    std::printf("stopped by signal after round %d; checkpoint %s (continue with --resume)\n", summary.rounds,
                options.checkpoint_path.c_str());
    std::fflush(stdout);
    return summary;
  };

  const Examples test = to_examples(e.test);

  GatherCache gather_cache;  // submodel extraction and per-width evaluation share it
  // One finished round (synchronous) or aggregation (asynchronous): evaluate, append /tasks
  // and /rounds (flushed), print progress. `tasks` in device order (sync) or finish order.
  auto record_round = [&](int round, const std::vector<TaskResult>& tasks, std::int64_t participants,
                          double aggregation_s) {
    RoundRecord rec;
    rec.round = round;
    double loss_sum = 0, loss_weight = 0;
    for (const auto& t : tasks) {
      rec.bytes_down += static_cast<std::int64_t>(t.bytes_down);
      rec.bytes_up += static_cast<std::int64_t>(t.bytes_up);
      if (t.status != TaskStatus::kOk) continue;
      loss_sum += t.train_loss * t.samples;
      loss_weight += t.samples;
    }
    rec.virtual_time_s = now;
    rec.participants = participants;
    rec.dropped = static_cast<std::int64_t>(tasks.size()) - participants;
    rec.train_loss = loss_weight > 0 ? loss_sum / loss_weight : kNaN;
    rec.test_accuracy = rec.test_loss = kNaN;
    if (round % cfg.run.eval_every == 0 || round == cfg.run.rounds) {
      load_weights(*net, global);
      const Evaluation ev = evaluate(net, test.x, test.y);
      rec.test_accuracy = ev.accuracy;
      rec.test_loss = ev.loss;
      summary.final_accuracy = ev.accuracy;
      summary.best_accuracy = std::max(summary.best_accuracy, ev.accuracy);
      results.append_width_evals(
          evaluate_widths(e, gather_cache, algorithm, global, round, test.x, test.y));
    }
    rec.wall_time_s = wall_now();
    rec.aggregation_wall_s = aggregation_s;

    std::vector<TaskRecord> task_records;
    for (const auto& t : tasks) task_records.push_back(to_record(t));
    results.append_tasks(task_records);
    results.append_round(rec);

    const double eta = (rec.wall_time_s - wall_before) / (round - first_round + 1) * (cfg.run.rounds - round);
    char acc[16] = "  -   ";
    if (!std::isnan(rec.test_accuracy)) std::snprintf(acc, sizeof acc, "%5.2f%%", rec.test_accuracy * 100);
    char perplexity[32] = "";  // language models: exp(loss per token)
    if (e.test.text && !std::isnan(rec.test_loss))
      std::snprintf(perplexity, sizeof perplexity, "  ppl %.2f", std::exp(rec.test_loss));
    std::printf("round %d/%d  virtual %.1f s  acc %s%s  updates %lld/%zu  eta %s\n", round, cfg.run.rounds, now, acc,
                perplexity, static_cast<long long>(rec.participants), tasks.size(), format_duration(eta).c_str());
    std::fflush(stdout);
    summary.rounds = round;
  };

  if (algorithm.asynchronous()) {
    auto snapshot = [&](AsyncSnapshot a) {
      last_async = std::move(a);
      const int r = last_async->round;
      if (options.checkpoint_every > 0 && r >= first_round && r % options.checkpoint_every == 0 && r < cfg.run.rounds)
        checkpoint();
    };
    if (!run_async(e, algorithm, transport, global, now, options.resume, record_round, snapshot)) return stop();
  } else {
    for (int round = first_round; round <= cfg.run.rounds; ++round) {
      if (stop_requested()) return stop();
      std::vector<TaskOrder> orders;
      std::map<std::int64_t, torch::Tensor> gathers;  // per device: its submodel's gather index
      std::map<std::int64_t, double> rates;           // per device: its submodel's nominal width
      const double extract_start = wall_now();
      algorithm.begin_round(global, round);
      for (int d : algorithm.select(round))
        orders.push_back(make_order(e, algorithm, gather_cache, global, d, round, gathers[d], rates[d]));
      double aggregation_s = wall_now() - extract_start;
      std::vector<TaskResult> arrived;
      try {
        arrived = transport.run_tasks(orders);
      } catch (const StopRequested&) {
        return stop();
      }
      apply_clock(e, now, round, arrived);

      // The policy sees tasks in virtual completion order, whatever order MPI delivered them in.
      EventQueue events;
      for (std::size_t i = 0; i < arrived.size(); ++i) events.push({arrived[i].end_s, arrived[i].device, i});
      std::vector<TaskResult> tasks;
      while (!events.empty()) tasks.push_back(std::move(arrived[events.pop().task]));
      for (auto& t : tasks) t.gather = gathers[t.device], t.rate = rates[t.device];
      const double round_end = algorithm.close_round(now, tasks);
      // Merging and recording go in device order.
      std::sort(tasks.begin(), tasks.end(), [](const auto& a, const auto& b) { return a.device < b.device; });
      std::vector<const TaskResult*> accepted;
      for (const auto& t : tasks)
        if (t.status == TaskStatus::kOk) accepted.push_back(&t);
      const double merge_start = wall_now();
      algorithm.merge(global, accepted);
      aggregation_s += wall_now() - merge_start;
      now = round_end;
      record_round(round, tasks, static_cast<std::int64_t>(accepted.size()), aggregation_s);
      if (options.checkpoint_every > 0 && round % options.checkpoint_every == 0 && round < cfg.run.rounds)
        checkpoint();
    }
  }
  transport.shutdown();
  results.mark_complete();
  if (!options.checkpoint_path.empty()) std::filesystem::remove(options.checkpoint_path);
  summary.virtual_time_s = now;
  summary.wall_time_s = wall_now();
  return summary;
}

}  // namespace edgesim
