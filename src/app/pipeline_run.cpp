#include "edgesim/app/pipeline_run.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "edgesim/algo/catalog.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/pipeline/fault_schedule.hpp"
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
    setup = pipeline_setup(cfg, e.model, e.devices, e.device_set.reference_flops_per_s);
    if (resume) throw InputError("--resume: pipeline runs cannot resume yet; start afresh with --overwrite");
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
  const std::unique_ptr<PipelineRunner> runner = make_pipeline_runner(setup, planned.plan, sgd, global, world_size,
                                                                            cfg.devices.memory == "enforced");
  const Examples test = to_examples(e.test);
  BatchStream batches(cfg.run.seed, e.train.size(), planned.plan.batch());
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

  const auto wall_start = std::chrono::steady_clock::now();
  double virtual_time = 0;
  for (int it = 1; it <= cfg.run.rounds; ++it) {
    // Over MPI the executor ranks draw the same batch; rank 0 only keeps the stream in step.
    const std::vector<std::int64_t> indices = batches.next();
    const Examples batch = world_size == 1 ? to_examples(e.train, indices) : Examples{};
    // A fault striking before this iteration would end interrupts it: the work since its start
    // is lost, the fault is noticed (at once for a leave, a heartbeat timeout later for a
    // failure), the stage re-split among its survivors, and the iteration replayed on the same
    // batch from then (pipeline/fault_schedule.hpp).
    while (next_fault < faults.size()) {
      const PipelineFault& f = faults[next_fault];
      const double length = frame_iteration(plan, setup.profile, setup.fleet, sgd.momentum > 0, nullptr).time_s;
      if (f.at_s > virtual_time && f.at_s >= virtual_time + length) break;
      ++next_fault;
      PipelineFaultRecord rec;
      rec.device = f.device, rec.leave = f.leave ? 1 : 0, rec.fault_s = f.at_s;
      rec.detected_s = std::max(f.at_s, virtual_time) + (f.leave ? 0.0 : cfg.pipeline.heartbeat_timeout_s);
      const Plan next = plan_without(plan, f.device, setup.profile, setup.fleet);
      bool in_plan = false;
      for (const StagePlan& s : plan.stages)
        in_plan = in_plan || std::find(s.devices.begin(), s.devices.end(), f.device) != s.devices.end();
      if (!in_plan) {  // an idle device: nothing to recover
        rec.iteration = 0, rec.plan_id = plan_id, rec.recovered_s = rec.detected_s;
      } else if (next.stages.empty()) {
        rec.iteration = it, rec.plan_id = -1, rec.recovered_s = std::nan("");
        ended_by_fault = true;
      } else {
        runner->reshare(next);
        plan = next;
        participants = count_devices();
        rec.iteration = it, rec.plan_id = ++plan_id, rec.recovered_s = rec.detected_s;
        virtual_time = rec.detected_s;
      }
      results->append_pipeline_faults({rec});
      std::printf("fault: device %d %s at %.4f s, noticed at %.4f s: %s\n", f.device, f.leave ? "left" : "failed", f.at_s,
                  rec.detected_s,
                  !in_plan ? "not in the plan" : ended_by_fault ? "its stage has no other device; the run ends"
                                                               : ("its stage re-split, plan " + std::to_string(plan_id) +
                                                                  ", iteration " + std::to_string(it) + " replayed")
                                                                     .c_str());
      std::fflush(stdout);
      if (ended_by_fault) break;
    }
    if (ended_by_fault) break;
    const PipelineIteration r = runner->run_iteration(batch.x, batch.y);
    const PipelineIterationRecord iteration{it, plan_id, r.samples, virtual_time, virtual_time + r.time_s,
                                            r.oom ? std::nan("") : r.loss};
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
    virtual_time += r.time_s;
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
  }
  runner->copy_into(global);
  results->write_final_model(to_floats(flatten_weights(*global)));
  runner->finish();
  results->mark_complete();
  return 0;
}

}  // namespace edgesim
