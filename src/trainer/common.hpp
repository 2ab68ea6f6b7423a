#pragma once
// Pieces every trainer shares: sgd's options (scaler, masked cross-entropy, BN L1, frozen prefix)
// and the cost of a plain step under them.
#include "edgesim/device/cost.hpp"
#include "edgesim/trainer/trainer.hpp"

namespace edgesim::trainer_detail {

// HeteroFL's masked cross-entropy: 1 for the classes (or tokens) the device holds; undefined
// when the option is off.
torch::Tensor present_classes(const TrainerInput& in);

// The net's logits, masked when `present` is defined.
torch::Tensor masked_logits(SpecNet& net, const torch::Tensor& x, const torch::Tensor& present);

// The recipe with the task's BN L1; the net scaled and frozen as the options say.
LocalRecipe prepare(SpecNet& net, const TrainerInput& in);

// sgd's memory: the training footprint of `shape`, plus a copy of the logits for the mask.
std::uint64_t sgd_memory(const TrainerInput& in, TrainingShape shape);
TrainingShape sgd_shape(const TrainerInput& in);

// The work of train_locally's passes over the device's data with `shape` (every epoch, last
// partial batch included).
ComputeWork local_work(const TrainerInput& in, const TrainingShape& shape);

}  // namespace edgesim::trainer_detail
