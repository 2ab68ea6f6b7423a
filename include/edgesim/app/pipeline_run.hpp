#pragma once
// `edgesim run` of a pipeline algorithm (catalog schedule "pipeline": asteroid). Rank 0 plans
// (pipeline.planner, pipeline/run_setup.hpp) and runs run.rounds iterations in-process with
// PipelineExecutor (runtime/pipeline_executor.hpp): each iteration is algorithm.batch_size
// samples drawn without replacement from the whole training set (the devices pool their data
// [choice]; reshuffled each epoch from the (seed, shuffle) stream), one 1F1B iteration, and
// every run.eval_every iterations a test evaluation of the whole model. /rounds gets one row per
// iteration (round = iteration, virtual time, training loss, test accuracy and loss,
// participants = the plan's devices), /pipeline_iterations and /pipeline_ops their rows
// (docs/RESULTS.md). Other ranks idle: executing stages on executor ranks over
// MPI is not done yet (docs/ALGORITHMS.md), so results do not depend on the rank count.
#include <string>
#include <vector>

#include "edgesim/io/config.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

bool is_pipeline_run(const ExperimentConfig& cfg);

// Returns the exit code: 0, or 2 on an input problem (no plan fits, --resume asked).
int run_pipeline(const Experiment& experiment, const std::string& out, bool overwrite, bool resume,
                 const RunMetadata& meta, const std::vector<DeviceRecord>& devices);

}  // namespace edgesim
