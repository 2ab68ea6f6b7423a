#pragma once
// The model a run starts from when `model.init_from` names an earlier run's results file: that
// run's final global model (io/results.hpp, /final_model), which must have this run's
// architecture — the same tensors, names and shapes (root attribute model_tensors), in the same
// flat layout. A mismatch is an InputError naming the key, the file and the first tensor that
// differs in each. ("Pretrained, then collaboratively trained": Co-S²P starts from a checkpoint.)
#include <string>
#include <vector>

#include "edgesim/io/config.hpp"
#include "edgesim/model/spec.hpp"

namespace edgesim {

std::vector<float> initial_model_from(const ExperimentConfig& config, const ModelSpec& model);

}  // namespace edgesim
