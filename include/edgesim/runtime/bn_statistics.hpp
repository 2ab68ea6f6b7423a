#pragma once
// HeteroFL's `stats` pass (Diao et al., ICLR 2021, train_classifier_fed.py): before the global
// model is evaluated, a copy of it with every BatchNorm tracking statistics (momentum None: the
// cumulative average over the batches) runs forward in training mode, without gradients, over
// training data; the evaluation then uses those statistics. A static-BN model (no running
// statistics) would otherwise normalise each test batch by its own statistics, and a model with
// running statistics would use the average of the devices' submodels' statistics. The pass is
// the evaluator's work on rank 0: it changes no weight of the run and is charged to no device.
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"

namespace edgesim {

bool has_batchnorm(const ModelSpec& arch);

// The pass's inputs at evaluation `round`: `algorithm.bn_stats_samples` samples drawn without
// replacement from the union of the devices' samples (stream (seed, bn_statistics, round)),
// or all of them, ascending, when it is 0 or at least their number.
Examples bn_statistics_sample(const Experiment& e, int round);

// A network of `arch` with tracking BatchNorms, the parameters of `weights` (flat, in `arch`'s
// layout with or without running statistics; only the parameters are read) and its statistics
// estimated on `x` in batches of `batch`; in eval mode.
SpecNet with_training_statistics(const ModelSpec& arch, const torch::Tensor& weights, const torch::Tensor& x, int batch);

}  // namespace edgesim
