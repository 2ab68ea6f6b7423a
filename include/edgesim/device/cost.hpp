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

// What a local trainer does beyond one plain step: layers it freezes, graphs it keeps alive,
// and passes of other networks it runs without gradients (a teacher, a previous model).
// Frozen layers [0, frozen_layers) are run forward only: no gradients, no optimizer state,
// and no saved activations except the last frozen layer's output (the first trainable layer's
// input) — what LibTorch does when nothing before a layer requires grad.
struct TrainingShape {
  int frozen_layers = 0;
  int forward_passes = 1;    // autograd graphs alive at once (FjORD's teacher and student)
  int no_grad_passes = 0;    // forward passes of networks of the same shape without gradients
  // Every early-exit head of the spec runs and trains too (DepthFL's loss over all its
  // classifiers): their layers' FLOPs and saved activations count like the model's own.
  bool all_exits = false;
};
// Per sample: forward of every layer, plus backward (2x) of the trainable ones, plus the
// no-grad passes. With the default shape this is training_flops_per_sample(spec).
double training_flops_per_sample(const ModelSpec& spec, const TrainingShape& shape);

struct MemoryFootprint {
  std::uint64_t weights = 0, gradients = 0, optimizer = 0, activations = 0;
  std::uint64_t total() const { return weights + gradients + optimizer + activations; }
};
// `forward_passes` > 1: a step keeps that many autograd graphs alive (FjORD's
// self-distillation runs a teacher and a student pass before one backward).
MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum, int forward_passes = 1);
// With frozen layers and no-grad passes (each no-grad pass holds a copy of the weights and,
// transiently, its largest activation; counted as one more copy of the weights plus one
// layer's activations).
MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum, const TrainingShape& shape);

// Co-S²P's mask phase (trainer/unit_masks.hpp) on `spec`'s own forward pass: the weights frozen
// (no gradients, no momentum), a score per unit of every sliceable group with Adam's two
// moments, and the activations of a training pass plus, per gated layer, its ungated output (the
// product with a gate that needs a gradient keeps both factors).
MemoryFootprint mask_learning_memory(const ModelSpec& spec, int batch_size);

// Bytes of one copy of the model on the wire (float32 parameters and buffers).
std::uint64_t model_bytes(const ModelSpec& spec);

}  // namespace edgesim
