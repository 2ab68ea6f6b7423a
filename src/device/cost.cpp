#include "edgesim/device/cost.hpp"

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
    default:
      return 0.0;
  }
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

std::uint64_t model_bytes(const ModelSpec& spec) { return 4 * static_cast<std::uint64_t>(spec.state_count()); }

}  // namespace edgesim
