#include "edgesim/app/pipeline_run.hpp"

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>

#include "edgesim/algo/catalog.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/pipeline/run_setup.hpp"
#include "edgesim/runtime/initial_model.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/pipeline_executor.hpp"

namespace edgesim {
namespace {

// Batches of `batch` sample numbers: every sample once per epoch, epochs shuffled apart.
class BatchStream {
 public:
  BatchStream(std::uint64_t seed, std::int64_t samples, int batch) : seed_(seed), samples_(samples), batch_(batch) {}
  std::vector<std::int64_t> next() {
    if (order_.size() - at_ < static_cast<std::size_t>(batch_)) {
      order_.resize(static_cast<std::size_t>(samples_));
      std::iota(order_.begin(), order_.end(), std::int64_t(0));
      // Device "-1" in the shuffle stream: the pipeline's pooled data, not one device's.
      Rng rng(seed_, Purpose::kShuffle, static_cast<std::uint64_t>(-1), epoch_++);
      rng.shuffle(order_);
      at_ = 0;
    }
    std::vector<std::int64_t> out(order_.begin() + at_, order_.begin() + at_ + batch_);
    at_ += batch_;
    return out;
  }

 private:
  std::uint64_t seed_;
  std::int64_t samples_;
  int batch_;
  std::uint64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
  std::size_t at_ = 0;
};

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
                 const std::vector<DeviceRecord>& devices) {
  const ExperimentConfig& cfg = e.config;
  PipelineSetup setup = pipeline_setup(cfg, e.model, e.devices, e.device_set.reference_flops_per_s);
  PlannedPipeline planned;
  std::unique_ptr<ResultsWriter> results;
  std::vector<float> initial_model;  // model.init_from
  try {
    if (!cfg.model.init_from.empty()) initial_model = initial_model_from(cfg, e.model);
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
    return 2;
  }
  std::printf("edgesim pipeline: %s — %d devices, %s, %d iterations -> %s\n%s", cfg.run.name.c_str(), cfg.devices.count,
              cfg.algorithm.name.c_str(), cfg.run.rounds, out.c_str(), describe_planned(planned, setup).c_str());
  std::fflush(stdout);

  torch::manual_seed(Rng(cfg.run.seed, Purpose::kModelInit).next() >> 1);
  SpecNet global = build_network(e.model);
  if (!initial_model.empty()) load_weights(*global, from_floats(initial_model));
  const SgdSettings sgd{cfg.algorithm.lr, cfg.algorithm.momentum, cfg.algorithm.weight_decay};
  PipelineExecutor executor(setup.spec, setup.profile, planned.plan, setup.fleet, sgd, global);
  const Examples test = to_examples(e.test);
  BatchStream batches(cfg.run.seed, e.train.size(), planned.plan.batch());
  std::int64_t participants = 0;
  for (const StagePlan& s : planned.plan.stages) participants += static_cast<std::int64_t>(s.devices.size());

  const auto wall_start = std::chrono::steady_clock::now();
  double virtual_time = 0;
  for (int it = 1; it <= cfg.run.rounds; ++it) {
    const Examples batch = to_examples(e.train, batches.next());
    const PipelineIteration r = executor.run_iteration(batch.x, batch.y);
    // One plan per run today (plan_id 0); re-plans after faults will number theirs.
    const PipelineIterationRecord iteration{it, 0, r.samples, virtual_time, virtual_time + r.time_s,
                                            r.oom ? std::nan("") : r.loss};
    std::vector<PipelineOpRecordRow> ops;
    for (const PipelineOpRecord& op : r.ops)
      ops.push_back({it, op.device, op.stage, op.micro_batch, virtual_time + op.start_s, virtual_time + op.end_s,
                     op_kind_name(op.kind)});
    results->append_pipeline(iteration, ops);
    virtual_time += r.time_s;
    RoundRecord row;
    row.round = it;
    row.virtual_time_s = virtual_time;
    row.train_loss = r.oom ? std::nan("") : r.loss;
    row.participants = r.oom ? 0 : participants;
    row.dropped = static_cast<std::int64_t>(r.oom_devices.size());
    row.test_accuracy = row.test_loss = std::nan("");
    if (it % cfg.run.eval_every == 0 || it == cfg.run.rounds) {
      executor.copy_into(global);
      const Evaluation ev = evaluate(global, test.x, test.y);
      row.test_accuracy = ev.accuracy, row.test_loss = ev.loss;
    }
    row.wall_time_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    results->append_round(row);
    std::printf("iteration %d: %s loss %.4f, test accuracy %.2f%%, virtual time %.4f s\n", it, r.oom ? "oom," : "",
                row.train_loss, row.test_accuracy * 100, virtual_time);
    std::fflush(stdout);
  }
  executor.copy_into(global);
  results->write_final_model(to_floats(flatten_weights(*global)));
  results->mark_complete();
  return 0;
}

}  // namespace edgesim
