#pragma once
// Rank 0's round loop: owns the global model and the virtual clock. Each round it asks the
// algorithm which devices train, sends them the model, turns the returned costs into
// virtual durations with each device's profile, lets the algorithm close the round and
// merge (always in device order, whatever order results arrived in), evaluates every
// `run.eval_every` rounds, and appends the round to the results file.
#include "edgesim/algo/algorithm.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {

struct RunSummary {
  int rounds = 0;
  double virtual_time_s = 0, wall_time_s = 0;
  double final_accuracy = 0, best_accuracy = 0;
};

RunSummary run_coordinator(const Experiment& experiment, Algorithm& algorithm, Transport& transport,
                           ResultsWriter& results);

}  // namespace edgesim
