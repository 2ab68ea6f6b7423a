#pragma once
// The per-layer profile a pipeline planner works on, from a zoo ModelSpec and the analytic
// cost model (device/cost.hpp) — and, for the calibrated clock, the per-layer work of
// device/compute_work.hpp — so planner, clock and memory check cannot disagree.
//
// A planning *unit* is a contiguous range of spec layers between two allowed cut points;
// stages are contiguous ranges of units. Per sample, a unit has its forward FLOPs (backward
// = 2x, as in the cost model), the activations it keeps for backward (its layers' outputs),
// and its parameters. The bytes that cross a cut are every tensor produced before the cut
// and read after it — derived from LayerSpec::inputs, so a residual or skip edge that spans
// a cut adds its tensor to that cut's transfer (and a tensor that spans several cuts is
// relayed through, and charged at, each of them).
//
// Only the model's own forward pass (layers up to output()) is profiled: early-exit heads
// are not placed on a pipeline.
#include <cstdint>
#include <string>
#include <vector>

#include "edgesim/device/compute_work.hpp"
#include "edgesim/model/spec.hpp"

namespace edgesim {

struct LayerUnit {
  int begin = 0, end = 0;          // spec layers [begin, end)
  double forward_flops = 0;        // per sample
  std::uint64_t parameters = 0;    // trainable floats
  std::uint64_t buffers = 0;       // BN running statistics (floats): held, not all-reduced
  std::uint64_t activation_bytes = 0;  // per sample, kept for backward (outputs of its layers)
  // The calibrated clock's work of its layers in one training step on n samples
  // (layers_step_work: every layer forward and backward, the optimizer's floats and tensors) is
  // work_base + n · work_per_sample, exactly: layer_work is affine in the batch (kernels and
  // weight bytes are per op, FLOPs, activation bytes and positions per sample).
  ComputeWork work_base, work_per_sample;
};

// A weight used in one unit and owned by another (the Transformer's tied LM head reads the
// token embedding): a stage holding the user but not the owner keeps a copy of it and
// exchanges its gradient with the owner's stage each iteration.
struct TiedWeight {
  int user_unit = 0, owner_unit = 0;
  std::uint64_t parameters = 0;  // floats
};

struct LayerProfile {
  std::string model;
  std::vector<LayerUnit> units;
  // cut_bytes[u], u = 0..units.size(): bytes per sample entering unit u from units before it
  // (what a stage starting at u receives, and keeps for its backward pass). cut_bytes[0] is
  // the model input, which the first stage reads locally; cut_bytes[units.size()] = 0.
  std::vector<std::uint64_t> cut_bytes;
  std::vector<TiedWeight> tied;

  int size() const { return static_cast<int>(units.size()); }
  double forward_flops(int begin, int end) const;  // units [begin, end), per sample
};

enum class CutPoints {
  kLayers,  // between any two layers (but never between a positional embedding and its reader)
  kBlocks,  // only at the model's block boundaries (model/spec.hpp), plus the stem and the head
};

LayerProfile profile_layers(const ModelSpec& spec, CutPoints cuts = CutPoints::kLayers);

// The tensors produced before spec layer `cut` and read at or after it (up to output()), as
// producing layer indices in ascending order, -1 = the model input: what crosses the cut.
std::vector<int> crossing_tensors(const ModelSpec& spec, int cut);

// Bytes per sample of every tensor produced before spec layer `cut` and read at or after it.
std::uint64_t crossing_bytes(const ModelSpec& spec, int cut);

}  // namespace edgesim
