#pragma once
// Rank 0's round loop: owns the global model and the virtual clock. Each round it asks the
// algorithm which devices train, sends them the model, turns the returned costs into
// virtual durations with each device's profile, lets the algorithm close the round and
// merge (always in device order, whatever order results arrived in), evaluates every
// `run.eval_every` rounds (and, first, the initial model as round 0: `run.eval_initial`), and
// appends the round to the results file. It stops after `run.rounds`, or after the round whose
// virtual end time reaches `run.until_virtual_s`. A learning monitor warns when the run does not
// learn (runtime/learning_monitor.hpp). It checkpoints every
// `checkpoint_every` rounds and when a stop signal arrives (then returns with stopped set),
// and can start from a checkpoint as if the run had never stopped.
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/io/checkpoint.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {

struct CoordinatorOptions {
  std::string checkpoint_path;        // empty: no checkpoints
  int checkpoint_every = 0;           // rounds between checkpoints; 0: only when stopped
  const Checkpoint* resume = nullptr;  // continue after this checkpoint's round
  std::vector<std::string> warnings;   // start-up warnings (already on stderr), kept in the results file
  std::vector<RoundRecord> resume_rounds;  // with `resume`: the /rounds rows kept, replayed to the learning monitor
  const std::vector<float>* initial_model = nullptr;  // a fresh run's start (model.init_from); null: from run.seed
};

struct RunSummary {
  int rounds = 0;  // last finished round
  double virtual_time_s = 0, wall_time_s = 0;
  double final_accuracy = 0, best_accuracy = 0;
  // Co-S²P's resource utilisation: Σ task compute time / (virtual time × devices).
  double training_s = 0, resource_utilisation = 0;
  double coordinator_peak_rss_bytes = 0;  // rank 0's peak resident memory (this process's, if resumed)
  bool stopped = false;  // by SIGTERM/SIGUSR1, after checkpointing
  std::string ended_by;  // a complete run: "rounds" or "until_virtual_s" (the budget)
};

RunSummary run_coordinator(const Experiment& experiment, Algorithm& algorithm, Transport& transport,
                           ResultsWriter& results, const CoordinatorOptions& options = {});

}  // namespace edgesim
