#pragma once
// The analytic cost of training a model, from its ModelSpec alone.
//
// FLOPs: a multiply-add counts as 2 FLOPs. Forward: conv = 2·k²·C_in·C_out·H_out·W_out (+ bias
// adds), linear = 2·in·out (+ out). ReLU, pooling and flatten are counted as free (they are
// memory-bound and a few percent of the total). Backward = 2 × forward (input and weight
// gradients), so one training sample costs 3 × forward.
//
// Memory of one training task (float32): weights + gradients + optimizer state (one momentum
// buffer when momentum > 0) + activations kept for backward (the input and every layer's
// output, per sample, times the batch size).
#include <cstdint>

#include "edgesim/model/spec.hpp"

namespace edgesim {

double layer_forward_flops(const LayerSpec& layer);   // per sample
double forward_flops(const ModelSpec& spec);          // per sample
double training_flops_per_sample(const ModelSpec& spec);

struct MemoryFootprint {
  std::uint64_t weights = 0, gradients = 0, optimizer = 0, activations = 0;
  std::uint64_t total() const { return weights + gradients + optimizer + activations; }
};
MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum);

// Bytes of one full copy of the model on the wire (float32 parameters).
std::uint64_t model_bytes(const ModelSpec& spec);

}  // namespace edgesim
