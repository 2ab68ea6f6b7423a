#include "edgesim/runtime/coordinator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>

#include <sys/resource.h>

#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/gather_cache.hpp"
#include "edgesim/runtime/evaluation.hpp"
#include "edgesim/runtime/event_loop.hpp"
#include "edgesim/runtime/learning_monitor.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/stop_signal.hpp"

namespace edgesim {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// This process's peak resident memory so far (Linux reports ru_maxrss in KiB).
double peak_resident_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) * 1024.0;
}

std::string format_duration(double s) {
  const long t = std::lround(std::max(0.0, s));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  return buf;
}

TaskRecord to_record(const TaskResult& t) {
  return {t.device,     t.round,    t.start_s,      t.end_s,   t.compute_s, t.download_s + t.upload_s,
          t.download_s, t.upload_s, t.memory_bytes, t.samples, t.status, t.peak_memory_bytes, t.staleness, t.rate, t.flops};
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
  if (options.initial_model && !options.resume) global = from_floats(*options.initial_model);

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
    summary.training_s = c->training_s;
    algorithm.load_state(c->algorithm_state);
  }
  // The loop's state after the last aggregation, with the tasks then in flight: what a resumed
  // run starts from.
  std::optional<LoopSnapshot> last;
  auto checkpoint = [&] {
    if (options.checkpoint_path.empty() || !last) return;
    Checkpoint c = last->loop;  // the global model has not changed since that aggregation
    c.config_toml = cfg.resolved_toml;
    c.round = last->round;
    c.virtual_time_s = last->now, c.wall_time_s = wall_now();
    c.final_accuracy = summary.final_accuracy, c.best_accuracy = summary.best_accuracy;
    c.training_s = summary.training_s;
    c.weights = to_floats(global);
    c.algorithm_state = algorithm.save_state();
    for (const auto& [v, model] : last->start_models) c.start_models.emplace_back(v, to_floats(model));
    for (const auto& [d, tensors] : last->device_state)
      for (const auto& [name, t] : tensors) c.device_state.push_back({d, name, to_floats(t)});
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

  // Warnings: the start-up ones, then the monitor's; all of them in the results file. A resumed
  // run replays the rows it kept, so the monitor is where it was, without saying it again.
  LearningMonitor monitor(
      {e.test.num_classes, cfg.run.warn_loss_growth, cfg.run.warn_chance_evals, algorithm.objective_terms()});
  if (options.resume)
    for (const auto& r : options.resume_rounds) monitor.observe(r);
  auto keep_warnings = [&] {
    std::vector<std::string> all = options.warnings;
    for (const auto& w : monitor.warnings()) all.push_back(w);
    if (!all.empty()) results.set_warnings(all);
  };
  keep_warnings();
  auto watch = [&](const RoundRecord& rec) {
    const auto fresh = monitor.observe(rec);
    for (const auto& w : fresh) std::fprintf(stderr, "edgesim: warning: %s\n", w.c_str());
    if (!fresh.empty()) keep_warnings();
  };

  GatherCache gather_cache;  // submodel extraction and per-width evaluation share it
  const std::vector<LinkProfile> links = links_of(e.devices);
  const double virtual_before = now;
  // "round 3/20  virtual 12.4 s  loss 0.512  acc 71.30%  updates 16/16  eta 00:01:10"
  auto print_progress = [&](const RoundRecord& rec, std::size_t tasks, const std::string& eta) {
    // The accepted updates' mean train loss: "-" without updates (round 0), "nan"/"inf" diverged.
    char loss[24] = "  -  ";
    if (rec.participants > 0 && std::isnan(rec.train_loss)) std::snprintf(loss, sizeof loss, "nan");
    else if (rec.participants > 0)
      std::snprintf(loss, sizeof loss, std::fabs(rec.train_loss) < 1e4 ? "%.3f" : "%.3g", rec.train_loss);
    char acc[16] = "  -   ";
    if (!std::isnan(rec.test_accuracy)) std::snprintf(acc, sizeof acc, "%5.2f%%", rec.test_accuracy * 100);
    char perplexity[32] = "";  // language models: exp(loss per token)
    if (e.test.text && !std::isnan(rec.test_loss))
      std::snprintf(perplexity, sizeof perplexity, "  ppl %.2f", std::exp(rec.test_loss));
    std::printf("round %lld/%d  virtual %.1f s  loss %s  acc %s%s  updates %lld/%zu  eta %s\n",
                static_cast<long long>(rec.round), cfg.run.rounds, rec.virtual_time_s, loss, acc, perplexity,
                static_cast<long long>(rec.participants), tasks, eta.c_str());
    std::fflush(stdout);
  };
  // Round 0: the initial model at virtual time 0, so every run's curve starts at the same point.
  // A resumed run already has it (or was started without it).
  if (!options.resume && cfg.run.eval_initial) {
    RoundRecord rec;
    rec.round = 0;
    rec.virtual_time_s = 0;
    rec.train_loss = kNaN;
    const GlobalEvaluation ev = evaluate_global(e, algorithm, gather_cache, net, global, 0, test);
    rec.test_accuracy = ev.whole.accuracy;
    rec.test_loss = ev.whole.loss;
    summary.final_accuracy = summary.best_accuracy = ev.whole.accuracy;
    results.append_width_evals(ev.widths);
    rec.wall_time_s = wall_now();
    results.append_round(rec);
    print_progress(rec, 0, "  -  ");
    watch(rec);
  }
  // One finished round (synchronous) or aggregation (asynchronous): evaluate, append /tasks
  // and /rounds (flushed), print progress. `tasks` in device order (sync) or finish order.
  auto record_round = [&](int round, const std::vector<TaskResult>& tasks, std::int64_t participants,
                          double aggregation_s) {
    RoundRecord rec;
    rec.round = round;
    double loss_sum = 0, loss_weight = 0;
    for (const auto& t : tasks) {
      summary.training_s += t.compute_s;
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
    std::vector<TransferRecord> transfers;
    // The last round, by count or by the virtual-time budget, is always evaluated.
    const bool last = round == cfg.run.rounds || (cfg.run.until_virtual_s > 0 && now >= cfg.run.until_virtual_s);
    if (round % cfg.run.eval_every == 0 || last) {
      // A serverless policy's model is gathered from its holders to be evaluated: recorded, off
      // the critical path (evaluation is the simulator's, not the participants').
      const std::vector<Transfer> assembly = algorithm.assembly_transfers();
      const auto timings = time_transfers(assembly, links, now);
      for (std::size_t i = 0; i < assembly.size(); ++i)
        transfers.push_back({round, assembly[i].source, assembly[i].destination,
                             static_cast<std::int64_t>(assembly[i].bytes), timings[i].start_s, timings[i].end_s,
                             TransferKind::kAssembly});
      const GlobalEvaluation ev = evaluate_global(e, algorithm, gather_cache, net, global, round, test);
      rec.test_accuracy = ev.whole.accuracy;
      rec.test_loss = ev.whole.loss;
      summary.final_accuracy = ev.whole.accuracy;
      summary.best_accuracy = std::max(summary.best_accuracy, ev.whole.accuracy);
      results.append_width_evals(ev.widths);
    }
    rec.wall_time_s = wall_now();
    rec.aggregation_wall_s = aggregation_s;

    std::vector<TaskRecord> task_records;
    for (const auto& t : tasks) {
      task_records.push_back(to_record(t));
      // A cancelled task's update is discarded, so it uploads nothing (bytes_up 0), not even
      // an upload that finished before the deadline; a download the cancellation cut short
      // never completed. Neither is recorded.
      for (TransferRecord tr : t.transfers) {
        const bool dropped = t.status == TaskStatus::kDropped;
        if (dropped && (tr.kind == TransferKind::kUpload || tr.end_s > t.end_s)) continue;
        tr.round = round, transfers.push_back(tr);
      }
    }
    results.append_tasks(task_records);
    results.append_transfers(transfers);
    results.append_round(rec);

    // The rounds left, or the virtual time left at this run's pace, whichever ends it first.
    const double wall_spent = rec.wall_time_s - wall_before;
    double eta = wall_spent / (round - first_round + 1) * (cfg.run.rounds - round);
    if (cfg.run.until_virtual_s > 0 && now > virtual_before)
      eta = std::min(eta, wall_spent / (now - virtual_before) * std::max(0.0, cfg.run.until_virtual_s - now));
    print_progress(rec, tasks.size(), format_duration(eta));
    watch(rec);
    summary.rounds = round;
  };

  auto snapshot = [&](LoopSnapshot a) {
    last = std::move(a);
    const int r = last->round;
    if (options.checkpoint_every > 0 && r >= first_round && r % options.checkpoint_every == 0 && r < cfg.run.rounds)
      checkpoint();
  };
  const std::unique_ptr<Schedule> schedule = make_schedule(e, algorithm);
  if (!run_event_loop(e, algorithm, *schedule, transport, global, now, options.resume, record_round, snapshot))
    return stop();
  transport.shutdown();
  summary.ended_by = summary.rounds < cfg.run.rounds ? "until_virtual_s" : "rounds";
  results.set_ended_by(summary.ended_by);
  summary.resource_utilisation = now > 0 ? summary.training_s / (now * cfg.devices.count) : 0.0;
  results.set_resource_utilisation(summary.resource_utilisation);
  summary.coordinator_peak_rss_bytes = peak_resident_bytes();
  results.set_coordinator_peak_rss(summary.coordinator_peak_rss_bytes);
  results.write_final_model(to_floats(global));
  results.mark_complete();
  if (!options.checkpoint_path.empty()) std::filesystem::remove(options.checkpoint_path);
  summary.virtual_time_s = now;
  summary.wall_time_s = wall_now();
  return summary;
}

}  // namespace edgesim
