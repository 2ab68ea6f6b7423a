#include "edgesim/device/cost.hpp"

#include <algorithm>

namespace edgesim {

double layer_forward_flops(const ModelSpec& s, const LayerSpec& l) {
  const double out = l.out_group >= 0 ? s.width(l.out_group) : 0, in = l.in_group >= 0 ? s.width(l.in_group) : 0;
  const double positions = double(l.out_h) * l.out_w;  // spatial positions, or tokens
  switch (l.kind) {
    case LayerKind::kConv2d:
      return (2.0 * l.kernel * l.kernel * in + (l.bias ? 1 : 0)) * out * positions;
    case LayerKind::kLinear:
      return (2.0 * in * l.planes + (l.bias ? 1 : 0)) * out * positions;
    case LayerKind::kSelfAttention: {
      const double inner = s.width(l.inner_group), t = l.in_h;
      const double projections = 3 * (2.0 * in + 1) * inner * t + (2.0 * inner + 1) * out * t;
      return projections + 2 * (2.0 * t * t * inner);  // scores q·kᵀ and the weighted sum of v
    }
    case LayerKind::kTiedHead:
      return 2.0 * in * l.vocab * l.in_h;
    case LayerKind::kBatchNorm2d:
    case LayerKind::kReLU:
    case LayerKind::kGELU:
    case LayerKind::kMaxPool2d:
    case LayerKind::kGlobalAvgPool:
    case LayerKind::kFlatten:
    case LayerKind::kAdd:
    case LayerKind::kEmbedding:
    case LayerKind::kPositionalEmbedding:
    case LayerKind::kLayerNorm:
    case LayerKind::kPatchTokens:
    case LayerKind::kClassToken:
    case LayerKind::kTakeClassToken:
      return 0.0;  // no multiply-adds (elementwise work is priced per float: device/compute_work.cpp)
  }
  return 0.0;
}

double forward_flops(const ModelSpec& spec) {
  double f = 0;
  for (int i = 0; i <= spec.output(); ++i) f += layer_forward_flops(spec, spec.layers[i]);
  return f;
}

double training_flops_per_sample(const ModelSpec& spec) { return 3.0 * forward_flops(spec); }

std::uint64_t layer_activation_floats(const ModelSpec& s, const LayerSpec& l) {
  switch (l.kind) {
    case LayerKind::kPositionalEmbedding:
      return 0;  // one [seq, d] table shared by the batch
    case LayerKind::kPatchTokens:
    case LayerKind::kTakeClassToken:
      return 0;  // views of their input
    case LayerKind::kTiedHead:
      return std::uint64_t(l.vocab) * l.in_h;
    case LayerKind::kSelfAttention: {
      const std::uint64_t inner = s.width(l.inner_group), t = l.in_h, heads = s.groups[l.inner_group].units;
      // q, k, v, the context, the output; scores and their softmax.
      return 4 * inner * t + std::uint64_t(s.width(l.out_group)) * t + 2 * heads * t * t;
    }
    default:
      return std::uint64_t(l.out_group >= 0 ? s.width(l.out_group) : 0) * l.out_h * l.out_w;
  }
}

MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum, int forward_passes) {
  const std::uint64_t params = static_cast<std::uint64_t>(spec.parameter_count());
  const std::uint64_t buffers = static_cast<std::uint64_t>(spec.state_count()) - params;
  std::uint64_t act = spec.token_input ? spec.in_h : std::uint64_t(spec.width(spec.input_group)) * spec.in_h * spec.in_w;
  for (int i = 0; i <= spec.output(); ++i) act += layer_activation_floats(spec, spec.layers[i]);
  MemoryFootprint m;
  m.weights = 4 * (params + buffers);
  m.gradients = 4 * params;
  m.optimizer = momentum ? 4 * params : 0;
  m.activations = 4 * act * static_cast<std::uint64_t>(batch_size) * static_cast<std::uint64_t>(forward_passes);
  return m;
}

namespace {

// Layers after the model's own output that a step runs: its exit heads, when they train.
std::pair<double, std::uint64_t> exit_heads_cost(const ModelSpec& spec, const TrainingShape& shape) {
  double flops = 0;
  std::uint64_t act = 0;
  if (!shape.all_exits) return {flops, act};
  for (int i = spec.output() + 1; i < static_cast<int>(spec.layers.size()); ++i) {
    flops += layer_forward_flops(spec, spec.layers[i]);
    act += layer_activation_floats(spec, spec.layers[i]);
  }
  return {flops, act};
}

}  // namespace

double training_flops_per_sample(const ModelSpec& spec, const TrainingShape& shape) {
  const double exits = 3.0 * exit_heads_cost(spec, shape).first;
  if (shape.frozen_layers == 0 && shape.no_grad_passes == 0) return training_flops_per_sample(spec) + exits;
  double frozen = 0, trainable = 0;
  for (int i = 0; i <= spec.output(); ++i)
    (i < shape.frozen_layers ? frozen : trainable) += layer_forward_flops(spec, spec.layers[i]);
  return frozen + 3.0 * trainable + shape.no_grad_passes * forward_flops(spec) + exits;
}

MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum, const TrainingShape& shape) {
  MemoryFootprint m = training_memory(spec, batch_size, momentum, shape.forward_passes);
  m.activations += 4 * exit_heads_cost(spec, shape).second * static_cast<std::uint64_t>(batch_size) *
                   static_cast<std::uint64_t>(shape.forward_passes);
  if (shape.frozen_layers == 0 && shape.no_grad_passes == 0) return m;
  std::int64_t frozen_params = 0;
  for (const ParamSpec& p : spec.parameters()) {
    if (p.layer >= shape.frozen_layers) continue;
    std::int64_t n = 1;
    for (const ParamDim& d : p.dims) n *= spec.extent(d);
    frozen_params += n;
  }
  m.gradients -= 4 * static_cast<std::uint64_t>(frozen_params);
  if (momentum) m.optimizer -= 4 * static_cast<std::uint64_t>(frozen_params);
  if (shape.frozen_layers > 0) {
    // Not saved: the input and the outputs of frozen layers but the last one.
    std::uint64_t dropped = spec.token_input ? spec.in_h : std::uint64_t(spec.width(spec.input_group)) * spec.in_h * spec.in_w;
    for (int i = 0; i + 1 < shape.frozen_layers && i <= spec.output(); ++i)
      dropped += layer_activation_floats(spec, spec.layers[i]);
    m.activations -= 4 * dropped * static_cast<std::uint64_t>(batch_size) * static_cast<std::uint64_t>(shape.forward_passes);
  }
  if (shape.no_grad_passes > 0) {
    std::uint64_t largest = 0;
    for (int i = 0; i <= spec.output(); ++i) largest = std::max(largest, layer_activation_floats(spec, spec.layers[i]));
    m.weights += static_cast<std::uint64_t>(shape.no_grad_passes) * 4 * static_cast<std::uint64_t>(spec.state_count());
    m.activations += 4 * largest * static_cast<std::uint64_t>(batch_size);
  }
  return m;
}

MemoryFootprint mask_learning_memory(const ModelSpec& spec, int batch_size) {
  MemoryFootprint m = training_memory(spec, batch_size, false);
  std::uint64_t units = 0, ungated = 0;
  for (const UnitGroup& g : spec.groups)
    if (g.sliceable) units += static_cast<std::uint64_t>(g.units);
  for (int i = 0; i <= spec.output(); ++i) {
    const LayerSpec& l = spec.layers[i];
    const bool makes_units = l.kind == LayerKind::kConv2d || l.kind == LayerKind::kBatchNorm2d || l.kind == LayerKind::kLinear;
    if (makes_units && l.out_group >= 0 && spec.groups[l.out_group].sliceable) ungated += layer_activation_floats(spec, l);
    if (l.kind == LayerKind::kSelfAttention && spec.groups[l.inner_group].sliceable)
      ungated += std::uint64_t(spec.width(l.inner_group)) * l.in_h;  // the context, per head
  }
  m.gradients = 4 * units;
  m.optimizer = 8 * units;
  m.activations += 4 * ungated * static_cast<std::uint64_t>(batch_size);
  return m;
}

std::uint64_t model_bytes(const ModelSpec& spec) { return 4 * static_cast<std::uint64_t>(spec.state_count()); }

}  // namespace edgesim
