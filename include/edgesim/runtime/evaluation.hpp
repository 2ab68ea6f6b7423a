#pragma once
// How rank 0 evaluates the global model on the test set: the whole model, and the model cut to
// each of the policy's evaluation rates (as the policy deploys it on a weak device: a prefix in
// width, or in depth). Policies that predict differently from a plain forward pass say so
// through the Algorithm interface; this file applies it.
#include <vector>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/io/results.hpp"
#include "edgesim/model/gather_cache.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/local_training.hpp"

namespace edgesim {

struct GlobalEvaluation {
  Evaluation whole;                     // the global model
  std::vector<WidthEvalRecord> widths;  // one per evaluation rate < 1
};

// `net` has the whole model's architecture; its weights are replaced by `global`.
GlobalEvaluation evaluate_global(const Experiment& e, const Algorithm& algorithm, GatherCache& cache, SpecNet& net,
                                 const torch::Tensor& global, int round, const Examples& test);

}  // namespace edgesim
