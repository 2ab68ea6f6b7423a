#include "edgesim/device/cost.hpp"

namespace edgesim {

double layer_forward_flops(const LayerSpec& l) {
  switch (l.kind) {
    case LayerKind::kConv2d:
      return (2.0 * l.kernel * l.kernel * l.in_c + 1.0) * l.out_c * l.out_h * l.out_w;
    case LayerKind::kLinear:
      return (2.0 * l.in_c + 1.0) * l.out_c;
    default:
      return 0.0;
  }
}

double forward_flops(const ModelSpec& spec) {
  double f = 0;
  for (const auto& l : spec.layers) f += layer_forward_flops(l);
  return f;
}

double training_flops_per_sample(const ModelSpec& spec) { return 3.0 * forward_flops(spec); }

MemoryFootprint training_memory(const ModelSpec& spec, int batch_size, bool momentum) {
  const std::uint64_t params = static_cast<std::uint64_t>(spec.parameter_count());
  std::uint64_t act = static_cast<std::uint64_t>(spec.in_c) * spec.in_h * spec.in_w;
  for (const auto& l : spec.layers) act += static_cast<std::uint64_t>(l.output_elements());
  MemoryFootprint m;
  m.weights = 4 * params;
  m.gradients = 4 * params;
  m.optimizer = momentum ? 4 * params : 0;
  m.activations = 4 * act * static_cast<std::uint64_t>(batch_size);
  return m;
}

std::uint64_t model_bytes(const ModelSpec& spec) { return 4 * static_cast<std::uint64_t>(spec.parameter_count()); }

}  // namespace edgesim
