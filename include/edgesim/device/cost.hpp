#pragma once
// The analytic cost of training a model, from its ModelSpec alone.
//
// FLOPs: a multiply-add counts as 2 FLOPs. Forward: conv = 2·k²·C_in·C_out·H_out·W_out (+ bias
// adds), linear = 2·in·out per position (+ out), attention = the q/k/v/o projections plus
// 2·T²·inner for the scores and 2·T²·inner for the weighted values, tied LM head = 2·d·V per
// token. Normalisation, activations, pooling and additions are counted as free (memory-bound
// and a few percent of the total). Backward = 2 × forward (input and weight gradients), so
// one training sample (image or sequence) costs 3 × forward.
//
// Memory of one training task (float32): weights + gradients + optimizer state (one momentum
// buffer when momentum > 0) + activations kept for backward (the input and every layer's
// output, per sample — attention adds its q, k, v, context and T×T scores — times the batch
// size). BN running statistics count with the weights.
//
// Only the model's own forward pass (model/spec.hpp: layers up to output()) is computed and
// keeps activations: early-exit heads the pass does not run cost no FLOPs, but their weights
// are held (and sent). A depth submodel's spec has only the layers it runs, so it costs less.
#include <cstdint>

#include "edgesim/model/spec.hpp"

namespace edgesim {

double layer_forward_flops(const ModelSpec& spec, const LayerSpec& layer);  // per sample
std::uint64_t layer_activation_floats(const ModelSpec& spec, const LayerSpec& layer);
double forward_flops(const ModelSpec& spec);          // per sample
double training_flops_per_sample(const ModelSpec& spec);

struct MemoryFootprint {
  std::uint64_t weights = 0, gradients = 0, optimizer = 0, activations = 0;
  std::uint64_t total() const { return weights + gradients + optimizer + activations; }
};
// `forward_passes` > 1: a step keeps that many autograd graphs alive (FjORD's
// self-distillation runs a teacher and a student pass before one backward).
MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum, int forward_passes = 1);

// Bytes of one copy of the model on the wire (float32 parameters and buffers).
std::uint64_t model_bytes(const ModelSpec& spec);

}  // namespace edgesim
