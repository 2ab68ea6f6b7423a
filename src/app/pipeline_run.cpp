#include "edgesim/app/pipeline_run.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>

#include "edgesim/algo/catalog.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/pipeline/fault_schedule.hpp"
#include "edgesim/pipeline/recovery.hpp"
#include "edgesim/pipeline/run_setup.hpp"
#include "edgesim/runtime/initial_model.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/batch_stream.hpp"
#include "edgesim/runtime/pipeline_transport.hpp"

namespace edgesim {
namespace {

const char* op_kind_name(PipelineOpKind k) {
  switch (k) {
    case PipelineOpKind::kForward: return "forward";
    case PipelineOpKind::kBackward: return "backward";
    case PipelineOpKind::kAllReduce: return "allreduce";
  }
  return "?";
}

}  // namespace

bool is_pipeline_run(const ExperimentConfig& cfg) {
  const AlgorithmInfo* info = find_algorithm(cfg.algorithm.name);
  return info && info->schedule == "pipeline";
}

int run_pipeline(const Experiment& e, const std::string& out, bool overwrite, bool resume, const RunMetadata& meta,
                 const std::vector<DeviceRecord>& devices, int world_size) {
  const ExperimentConfig& cfg = e.config;
  PipelineSetup setup;
  PlannedPipeline planned;
  std::unique_ptr<ResultsWriter> results;
  try {
    // model.init_from is checked before the results file exists (every rank loads it below).
    if (!cfg.model.init_from.empty()) initial_model_from(cfg, e.model);
    setup = pipeline_setup(cfg, e.model, e.devices, e.device_set);
    if (resume)
      throw InputError(
          "--resume: pipeline runs cannot resume yet (they write no checkpoint of their replicas' weights, momentum "
          "and BatchNorm statistics); start afresh with --overwrite");
    planned = plan_named(cfg.pipeline.planner, setup);
    if (planned.plan.stages.empty())
      throw InputError(cfg.source + ": key 'pipeline.planner': planner '" + cfg.pipeline.planner + "' found no plan");
    if (e.train.size() < planned.plan.batch())
      throw InputError(cfg.source + ": key 'algorithm.batch_size': " + std::to_string(planned.plan.batch()) +
                       " samples per iteration but only " + std::to_string(e.train.size()) + " training samples");
    results = std::make_unique<ResultsWriter>(out, overwrite, meta, devices, e.label_classes(), true);
  } catch (const InputError& err) {
    std::cerr << "edgesim: error: " << err.what() << std::endl;
    cancel_pipeline(world_size);
    return 2;
  }
  std::printf("edgesim pipeline: %s — %d devices, %s, %d iterations -> %s\n%s", cfg.run.name.c_str(), cfg.devices.count,
              cfg.algorithm.name.c_str(), cfg.run.rounds, out.c_str(), describe_planned(planned, setup).c_str());
  std::fflush(stdout);

  SpecNet global = initial_pipeline_model(e);
  const SgdSettings sgd{cfg.algorithm.lr, cfg.algorithm.momentum, cfg.algorithm.weight_decay};
  const bool momentum = sgd.momentum > 0;
  const std::unique_ptr<PipelineRunner> runner = make_pipeline_runner(setup, planned.plan, sgd, global, world_size,
                                                                            cfg.devices.memory == "enforced");
  const Examples test = to_examples(e.test);
  BatchCursor batches(cfg.run.seed, e.train.size(), planned.plan.batch());
  Plan plan = planned.plan;
  int plan_id = 0;
  auto count_devices = [&] {
    std::int64_t n = 0;
    for (const StagePlan& s : plan.stages) n += static_cast<std::int64_t>(s.devices.size());
    return n;
  };
  std::int64_t participants = count_devices();
  const std::vector<PipelineFault> faults = fault_schedule(cfg);
  std::size_t next_fault = 0;
  bool ended_by_fault = false;

  // Fault tolerance (pipeline/recovery.hpp) costs only in runs that have faults [choice]: a run
  // without any keeps no backup and takes no checkpoint, so it is what it was before recovery
  // existed (to measure the overhead alone, schedule a fault after the run's end).
  const bool protect = !faults.empty();
  const bool replay = cfg.pipeline.recovery == "replay";
  const PlannerFn& planner_fn = [&]() -> const PlannerFn& {
    for (const NamedPlanner& p : planner_table())
      if (p.name == cfg.pipeline.planner) return p.plan;
    throw std::logic_error("no planner " + cfg.pipeline.planner);
  }();
  std::vector<StageBackup> backups;
  auto install_backups = [&] {  // the plan's backup holders, their memory charged
    backups = protect && replay ? plan_backups(plan, setup.profile, setup.fleet, momentum) : std::vector<StageBackup>{};
    runner->set_held(backups.empty() ? std::vector<std::uint64_t>{} : held_bytes(backups, setup.fleet.size()));
  };
  install_backups();
  if (protect && replay) {
    for (std::size_t p = 0; p < backups.size(); ++p)
      if (backups[p].holder < 0 && plan.num_stages() > 1)
        std::printf("warning: stage %zu's backup fits on no device of the next stage: losing it whole ends the run\n", p);
    runner->take_backup();  // iteration 0: the initial weights, which every device got with the plan
  }
  // restart: the last checkpoint in the store (iteration 0: the initial model, where the run starts from).
  std::map<std::string, torch::Tensor> checkpoint;
  int checkpoint_iteration = 0;
  if (protect && !replay) checkpoint = runner->snapshot({});
  std::vector<int> lost;                      // every device lost so far, ascending
  std::vector<PipelineFaultRecord> pending;   // restart: recovered once the interrupted iteration is reached again
  int completed = 0;                          // the furthest iteration completed (later re-runs do not count)
  // After iteration `it` on `plan`: the backup refresh (replay) or checkpoint (restart) that follows it.
  auto overhead_after = [&](int it) {
    if (!protect) return 0.0;
    if (replay) return it % cfg.pipeline.backup_every == 0 ? backup_seconds(plan, backups, setup.fleet) : 0.0;
    return it % cfg.pipeline.checkpoint_every == 0 ? checkpoint_seconds(plan, setup.profile, setup.fleet, momentum) : 0.0;
  };

  const auto wall_start = std::chrono::steady_clock::now();
  double virtual_time = 0;
  for (int it = 1; it <= cfg.run.rounds;) {
    // Over MPI the executor ranks draw the same batch; rank 0 only keeps the stream in step.
    const std::vector<std::int64_t> indices = batches.at(it);
    const Examples batch = world_size == 1 ? to_examples(e.train, indices) : Examples{};
    // A fault striking before this iteration (with its backup or checkpoint) would end
    // interrupts it: the work since its start is lost, the fault is noticed (at once for a
    // leave, a heartbeat timeout later for a failure) and recovered from
    // (pipeline/recovery.hpp), and the iteration replayed on the same batch from then — or,
    // restarting, the run goes back to the iteration after the checkpoint.
    bool rewound = false;
    while (next_fault < faults.size()) {
      const PipelineFault& f = faults[next_fault];
      const double length =
          frame_iteration(plan, setup.profile, setup.fleet, momentum, nullptr).time_s + overhead_after(it);
      if (f.at_s > virtual_time && f.at_s >= virtual_time + length) break;
      ++next_fault;
      PipelineFaultRecord rec;
      rec.device = f.device, rec.leave = f.leave ? 1 : 0, rec.fault_s = f.at_s;
      rec.detected_s = std::max(f.at_s, virtual_time) + (f.leave ? 0.0 : cfg.pipeline.heartbeat_timeout_s);
      lost.insert(std::upper_bound(lost.begin(), lost.end(), f.device), f.device);
      int stage = -1;
      for (int p = 0; p < plan.num_stages(); ++p)
        if (std::find(plan.stages[p].devices.begin(), plan.stages[p].devices.end(), f.device) != plan.stages[p].devices.end())
          stage = p;
      std::string what;
      rec.iteration = it;
      if (stage < 0) {  // an idle device: nothing to recover
        rec.iteration = 0, rec.plan_id = plan_id, rec.recovered_s = rec.resumed_s = rec.detected_s;
        rec.recovery = "none", what = "not in the plan";
      } else if (!replay) {
        // The baseline: back to the checkpoint, a plan from scratch over the survivors, every
        // device's stage from the store, the iterations since the checkpoint run again.
        const PlannedPipeline next = plan_over_survivors(planner_fn, setup.profile, setup.fleet, setup.options, lost);
        if (next.plan.stages.empty() || next.plan.batch() != plan.batch()) {
          rec.plan_id = -1, rec.recovered_s = rec.resumed_s = std::nan(""), rec.recovery = "lost";
          ended_by_fault = true, what = "no plan fits the survivors; the run ends";
        } else {
          plan = next.plan;
          runner->install(plan, checkpoint);
          install_backups();
          participants = count_devices();
          rec.plan_id = ++plan_id, rec.recovery = "restart";
          rec.resumed_s = rec.detected_s + redistribution_seconds(plan, setup.profile, setup.fleet, momentum);
          rec.redone = it - 1 - checkpoint_iteration;
          for (const StagePlan& sp : plan.stages)
            rec.moved_bytes += static_cast<std::int64_t>(sp.devices.size() *
                                                         stage_state_bytes(setup.profile, sp.begin, sp.end, momentum));
          what = "restarted from the checkpoint of iteration " + std::to_string(checkpoint_iteration) + " on plan " +
                 std::to_string(plan_id);
          virtual_time = rec.resumed_s;
          it = checkpoint_iteration + 1;
          rewound = true;
        }
      } else if (plan.stages[stage].devices.size() > 1) {
        // Replicas left: the stage's micro-batch re-split among them, no weights move; a backup
        // whose holder was the lost device is sent to its stage's new holder.
        const Plan next = plan_without(plan, f.device, setup.profile, setup.fleet);
        const std::vector<StageBackup> before = backups;
        runner->reshare(next);
        plan = next;
        install_backups();
        std::vector<int> resend;
        for (std::size_t p = 0; p < backups.size(); ++p)
          if (p >= before.size() || backups[p].holder != before[p].holder) resend.push_back(static_cast<int>(p));
        participants = count_devices();
        rec.plan_id = ++plan_id, rec.recovery = "reshare";
        rec.recovered_s = rec.resumed_s = rec.detected_s + backup_seconds(plan, backups, setup.fleet, &resend);
        virtual_time = rec.recovered_s;
        what = "its stage re-split, plan " + std::to_string(plan_id) + ", iteration " + std::to_string(it) + " replayed";
      } else {
        // The stage's last device: the layers re-planned over the survivors (the run's planner,
        // the same M: the replayed iteration has the same micro-batches), the lost stage's state
        // from its backup on the next stage, moved layers from the devices that held them.
        PlannerOptions options = setup.options;
        options.micro_batches = plan.micro_batches;
        const PlannedPipeline next = plan_over_survivors(planner_fn, setup.profile, setup.fleet, options, lost);
        const bool backed_up = !backups.empty() && backups[stage].holder >= 0 &&
                               !std::binary_search(lost.begin(), lost.end(), backups[stage].holder);
        const LayerMoves moves = next.plan.stages.empty()
                                     ? LayerMoves{}
                                     : layer_moves(plan, backups, next.plan, lost, setup.profile, setup.fleet, momentum);
        if (next.plan.stages.empty() || !backed_up || !moves.possible) {
          rec.plan_id = -1, rec.recovered_s = rec.resumed_s = std::nan(""), rec.recovery = "lost";
          ended_by_fault = true;
          what = next.plan.stages.empty()                     ? "no plan fits the survivors; the run ends"
                 : plan.num_stages() == 1                         ? "a one-stage plan keeps no backup; the run ends"
                 : backups.empty() || backups[stage].holder < 0 ? "its stage has no backup (it fitted nowhere); the run ends"
                 : !backed_up                                   ? "its stage's backup holder is lost too; the run ends"
                                                                : "a moved layer has no surviving copy; the run ends";
        } else {
          const int holder = backups[stage].holder;
          const std::map<std::string, torch::Tensor> state = runner->snapshot({stage});
          plan = next.plan;
          runner->install(plan, state);
          install_backups();
          runner->take_backup();  // the new holders get the state the new plan starts from
          participants = count_devices();
          rec.plan_id = ++plan_id, rec.recovery = "replay";
          rec.moved_bytes = static_cast<std::int64_t>(moves.bytes);
          // The layers move first, then every stage of the new plan sends its backup.
          rec.recovered_s = rec.resumed_s = rec.detected_s + moves.seconds + backup_seconds(plan, backups, setup.fleet);
          virtual_time = rec.recovered_s;
          what = "its stage's layers re-planned over the survivors (plan " + std::to_string(plan_id) +
                 ", weights from the backup on device " + std::to_string(holder) + "), iteration " +
                 std::to_string(it) + " replayed";
        }
      }
      if (rec.recovery == "restart")
        pending.push_back(rec);
      else
        results->append_pipeline_faults({rec});
      std::printf("fault: device %d %s at %.4f s, noticed at %.4f s: %s\n", f.device, f.leave ? "left" : "failed", f.at_s,
                  rec.detected_s, what.c_str());
      std::fflush(stdout);
      if (ended_by_fault || rewound) break;
    }
    if (ended_by_fault) break;
    if (rewound) continue;
    // A restart's faults are recovered when the run is back at the iteration they interrupted.
    for (auto p = pending.begin(); p != pending.end();)
      if (p->iteration == it) {
        p->recovered_s = virtual_time;
        results->append_pipeline_faults({*p});
        p = pending.erase(p);
      } else {
        ++p;
      }
    const bool rerun = it <= completed;
    const PipelineIteration r = runner->run_iteration(batch.x, batch.y, it);
    const double overhead = overhead_after(it);
    if (protect && replay && it % cfg.pipeline.backup_every == 0) runner->take_backup();
    if (protect && !replay && it % cfg.pipeline.checkpoint_every == 0)
      checkpoint = runner->snapshot({}), checkpoint_iteration = it;
    PipelineIterationRecord iteration{it, plan_id, r.samples, virtual_time, virtual_time + r.time_s + overhead,
                                      r.oom ? std::nan("") : r.loss};
    iteration.overhead_s = overhead, iteration.rerun = rerun ? 1 : 0;
    std::vector<PipelineOpRecordRow> ops;
    for (const PipelineOpRecord& op : r.ops)
      ops.push_back({it, op.device, op.stage, op.micro_batch, virtual_time + op.start_s, virtual_time + op.end_s,
                     op_kind_name(op.kind)});
    std::vector<PipelineMemoryRecord> memory;
    for (std::size_t i = 0, p = 0; p < plan.stages.size(); ++p)
      for (std::size_t k = 0; k < plan.stages[p].devices.size(); ++k, ++i) {
        const int d = r.devices.at(i);
        memory.push_back({it, d, static_cast<std::int64_t>(p), r.estimated_bytes.at(i), r.peak_bytes.at(i),
                          static_cast<std::int64_t>(setup.fleet.devices.at(d).memory_cap_bytes)});
      }
    results->append_pipeline(iteration, ops, memory);
    virtual_time += r.time_s + overhead;
    if (rerun) {  // its /rounds row exists: the run repeats it to get back where it was
      std::printf("iteration %d run again: loss %.4f, virtual time %.4f s\n", it, r.oom ? std::nan("") : r.loss,
                  virtual_time);
      std::fflush(stdout);
      ++it;
      continue;
    }
    completed = it;
    RoundRecord row;
    row.round = it;
    row.virtual_time_s = virtual_time;
    row.train_loss = r.oom ? std::nan("") : r.loss;
    row.participants = r.oom ? 0 : participants;
    row.dropped = static_cast<std::int64_t>(r.oom_devices.size());
    // Device-to-device stage messages (docs/RESULTS.md): every byte sent is received once.
    row.bytes_up = r.bytes_sent, row.bytes_down = r.bytes_received;
    row.test_accuracy = row.test_loss = std::nan("");
    if (it % cfg.run.eval_every == 0 || it == cfg.run.rounds) {
      runner->copy_into(global);
      const Evaluation ev = evaluate(global, test.x, test.y);
      row.test_accuracy = ev.accuracy, row.test_loss = ev.loss;
    }
    row.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    results->append_round(row);
    std::printf("iteration %d: %s loss %.4f, test accuracy %.2f%%, virtual time %.4f s\n", it, r.oom ? "oom," : "",
                row.train_loss, row.test_accuracy * 100, virtual_time);
    std::fflush(stdout);
    ++it;
  }
  // A restart cut short (the run ended first) never got back to the iteration it interrupted.
  for (PipelineFaultRecord& p : pending) p.recovered_s = std::nan(""), results->append_pipeline_faults({p});
  runner->copy_into(global);
  results->write_final_model(to_floats(flatten_weights(*global)));
  runner->finish();
  results->mark_complete();
  return 0;
}

}  // namespace edgesim
