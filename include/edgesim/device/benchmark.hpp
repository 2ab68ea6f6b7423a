#pragma once
// Timing real LibTorch work on this host, for `edgesim profile` (docs/CLOCK.md): every layer of
// a model alone (forward with autograd recording, then its backward), and whole training tasks
// timed exactly as the measured clock times them (network built, weights loaded, local SGD).
// Layer times are medians of repeats after a warm-up; task times are kept per round. One
// intra-op thread.
#include <string>
#include <vector>

#include "edgesim/device/compute_work.hpp"
#include "edgesim/model/spec.hpp"

namespace edgesim {

struct LayerTiming {
  std::string label;  // model, layer name, batch
  OpClass op_class = OpClass::kConv;
  OpWork work;        // device/compute_work.hpp's description of the same layer and batch
  double forward_s = 0, backward_s = 0;
};

// Each layer of `model`'s forward pass at `batch`, run alone on random inputs of its shape
// (layers that only make sense inside the network — additions of two branches, the tied head,
// the positional table, flatten — are left out: their op class is fitted from the others).
// Layers of identical shape are timed once.
std::vector<LayerTiming> benchmark_layers(const ModelSpec& model, int batch, double min_seconds = 0.02);

// Local-SGD tasks (each 1 epoch over `samples` random samples in batches of `batch`, momentum
// 0.9), timed as `clock.mode = "measured"` times a task, and *interleaved*: after one warm-up
// each, `repeats` rounds in which every task runs once, each round in another order. A host's
// speed drifts (other jobs, clock boost, cache state) over the minutes a profile takes: timed
// one after another, the tasks measured late differ systematically from those measured early
// (up to ~15% between the fit's and the check's tasks here); interleaved, the drift is spread
// over all. Every round's time is kept, wall clock and this process's CPU time (the latter
// leaves out the time the host took the CPU away), so the statistic can be chosen afterwards.
struct TaskShape {
  ModelSpec arch;
  int batch = 0, samples = 0;
};
struct TaskTiming {
  std::vector<double> wall_s, cpu_s;  // one per round, in round order
};
std::vector<TaskTiming> benchmark_tasks_interleaved(const std::vector<TaskShape>& tasks, int repeats);

}  // namespace edgesim
