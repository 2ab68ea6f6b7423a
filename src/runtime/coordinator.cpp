#include "edgesim/runtime/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/async_loop.hpp"
#include "edgesim/runtime/event_queue.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/task_clock.hpp"

namespace edgesim {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string format_duration(double s) {
  const long t = std::lround(std::max(0.0, s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
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
    global = from_floats(c->weights);
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
  auto checkpoint = [&] {
    if (options.checkpoint_path.empty()) return;
    Checkpoint c;
    c.config_toml = cfg.resolved_toml;
    c.round = summary.rounds;
    c.virtual_time_s = now, c.wall_time_s = wall_now();
    c.final_accuracy = summary.final_accuracy, c.best_accuracy = summary.best_accuracy;
    c.weights = to_floats(global);
    c.algorithm_state = algorithm.save_state();
    if (last_async) {  // the global model has not changed since that aggregation
      c.virtual_time_s = last_async->now;
      c.dispatched = last_async->dispatched, c.version = last_async->version;
      c.in_flight = last_async->in_flight;
      for (const auto& [v, model] : last_async->start_models) c.start_models.emplace_back(v, to_floats(model));
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
