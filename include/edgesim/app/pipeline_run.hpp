#pragma once
// `edgesim run` of a pipeline algorithm (catalog schedule "pipeline": asteroid). Rank 0 plans
// (pipeline.planner, pipeline/run_setup.hpp) and runs run.rounds iterations through a
// PipelineRunner (runtime/pipeline_transport.hpp: in process on one rank, else the stage
// replicas on the executor ranks, exchanging activations over MPI): each iteration is algorithm.batch_size
// samples drawn without replacement from the whole training set (the devices pool their data
// [choice]; reshuffled each epoch from the (seed, shuffle) stream), one 1F1B iteration, and
// every run.eval_every iterations a test evaluation of the whole model. /rounds gets one row per
// iteration (round = iteration, virtual time, training loss, test accuracy and loss,
// participants = the plan's devices, bytes_up/bytes_down = the stage messages' bytes),
// /pipeline_iterations and /pipeline_ops their rows (docs/RESULTS.md). Faults
// (pipeline.faults) are recovered from by pipeline.recovery: replay (re-split, or re-plan over
// the survivors with the lost stage's backup) or restart (from the last checkpoint), both
// pipeline/recovery.hpp; every fault is a /pipeline_faults row. Every sum is in a
// fixed order, so results do not depend on the rank count. A bad config exits 2, after
// telling the executor ranks to end (cancel_pipeline).
#include <string>
#include <vector>

#include "edgesim/io/config.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/runtime/experiment.hpp"

namespace edgesim {

bool is_pipeline_run(const ExperimentConfig& cfg);

// Returns the exit code: 0, or 2 on an input problem (no plan fits, --resume asked).
int run_pipeline(const Experiment& experiment, const std::string& out, bool overwrite, bool resume,
                 const RunMetadata& meta, const std::vector<DeviceRecord>& devices, int world_size);

}  // namespace edgesim
