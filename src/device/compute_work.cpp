#include "edgesim/device/compute_work.hpp"

#include <vector>

namespace edgesim {

namespace {

// Per layer kind: its op class, and its op dispatches per forward pass in LibTorch's CPU kernels
// (model/network.cpp): conv and linear are one call with their bias; attention = the q/k/v/out
// projections, two batched products, a softmax, the scaling and the reshapes around the heads.
// Flatten and a ViT's token reshapes are views: no op class, no cost.
struct KindCost {
  bool costs;
  OpClass op_class;
  double kernels;
};
KindCost cost_of(LayerKind kind) {
  switch (kind) {
    case LayerKind::kConv2d:
      return {true, OpClass::kConv, 1};
    case LayerKind::kLinear:
    case LayerKind::kTiedHead:
      return {true, OpClass::kMatmul, 1};
    case LayerKind::kSelfAttention:
      return {true, OpClass::kMatmul, 12};
    case LayerKind::kBatchNorm2d:
    case LayerKind::kLayerNorm:
      return {true, OpClass::kNorm, 1};
    case LayerKind::kReLU:
    case LayerKind::kGELU:
    case LayerKind::kAdd:
      return {true, OpClass::kActivation, 1};
    case LayerKind::kMaxPool2d:
    case LayerKind::kGlobalAvgPool:
      return {true, OpClass::kPool, 1};
    case LayerKind::kEmbedding:
    case LayerKind::kPositionalEmbedding:
    case LayerKind::kClassToken:  // one concatenation
      return {true, OpClass::kEmbedding, 1};
    case LayerKind::kFlatten:
    case LayerKind::kPatchTokens:
    case LayerKind::kTakeClassToken:
      return {false, OpClass::kActivation, 0};  // views
  }
  return {false, OpClass::kActivation, 0};
}

double kernels_of(LayerKind kind) { return cost_of(kind).kernels; }

}  // namespace

bool op_class_of(const ModelSpec& spec, int layer, OpClass* out) {
  const LayerSpec& l = spec.layers.at(layer);
  const KindCost c = cost_of(l.kind);
  *out = c.op_class;
  if (c.op_class == OpClass::kConv && l.out_group >= 0 && spec.width(l.out_group) % kVectorFloats != 0)
    *out = OpClass::kConvUnaligned;
  return c.costs;
}

namespace {

// Floats a layer reads per sample (its inputs).
double input_floats(const ModelSpec& s, const LayerSpec& l) {
  const double in = l.in_group >= 0 ? s.width(l.in_group) : (l.out_group >= 0 ? s.width(l.out_group) : 0);
  switch (l.kind) {
    case LayerKind::kLinear:
      return in * l.planes * double(l.out_h) * l.out_w;
    case LayerKind::kAdd:
      return 2.0 * (l.out_group >= 0 ? s.width(l.out_group) : 0) * double(l.out_h) * l.out_w;
    case LayerKind::kEmbedding:
      return double(l.in_h) * l.in_w;  // token ids
    default:
      return in * double(l.in_h) * l.in_w;
  }
}

std::vector<double> parameters_per_layer(const ModelSpec& s, std::vector<double>* tensors) {
  std::vector<double> out(s.layers.size(), 0.0);
  if (tensors) tensors->assign(s.layers.size(), 0.0);
  for (const ParamSpec& p : s.parameters()) {
    double n = 1;
    for (const ParamDim& d : p.dims) n *= double(s.extent(d));
    if (p.layer < 0 || p.layer >= static_cast<int>(out.size())) continue;
    out[p.layer] += n;
    if (tensors) (*tensors)[p.layer] += 1;
  }
  return out;
}

OpWork work_of(const ModelSpec& s, int i, int batch, double params) {
  const LayerSpec& l = s.layers[i];
  OpClass c;
  if (!op_class_of(s, i, &c)) return {};
  const double b = batch;
  const double out_floats = double(layer_activation_floats(s, l));
  OpWork w;
  const bool elementwise = c != OpClass::kConv && c != OpClass::kConvUnaligned && c != OpClass::kMatmul;
  w.flops = elementwise ? out_floats * b : layer_forward_flops(s, l) * b;
  w.bytes = 4.0 * (input_floats(s, l) + out_floats) * b + 4.0 * params;
  w.kernels = kernels_of(l.kind);
  w.positions = b * double(l.out_h) * l.out_w;
  return w;
}

void add(OpWork& a, const OpWork& b, double k = 1.0) {
  a.flops += k * b.flops, a.bytes += k * b.bytes, a.kernels += k * b.kernels, a.positions += k * b.positions;
}

}  // namespace

OpWork layer_work(const ModelSpec& spec, int layer, int batch) {
  const std::vector<double> params = parameters_per_layer(spec, nullptr);
  return work_of(spec, layer, batch, params.at(layer));
}

ComputeWork& ComputeWork::operator+=(const ComputeWork& o) {
  for (int c = 0; c < kOpClasses; ++c) add(forward[c], o.forward[c]), add(backward[c], o.backward[c]);
  steps += o.steps, optimizer_floats += o.optimizer_floats, optimizer_tensors += o.optimizer_tensors;
  tasks += o.tasks, setup_floats += o.setup_floats, setup_tensors += o.setup_tensors;
  return *this;
}

ComputeWork ComputeWork::scaled(double k) const {
  ComputeWork w;
  for (int c = 0; c < kOpClasses; ++c) add(w.forward[c], forward[c], k), add(w.backward[c], backward[c], k);
  w.steps = k * steps, w.optimizer_floats = k * optimizer_floats, w.optimizer_tensors = k * optimizer_tensors;
  w.tasks = k * tasks, w.setup_floats = k * setup_floats, w.setup_tensors = k * setup_tensors;
  return w;
}

ComputeWork layers_step_work(const ModelSpec& arch, int begin, int end, const TrainingShape& shape, int batch) {
  std::vector<double> tensors;
  const std::vector<double> params = parameters_per_layer(arch, &tensors);
  ComputeWork w;
  OpWork forward_once[kOpClasses]{};
  for (int i = begin; i < end; ++i) {
    OpClass c;
    if (!op_class_of(arch, i, &c)) continue;
    const OpWork lw = work_of(arch, i, batch, params[i]);
    add(forward_once[int(c)], lw);
    add(w.forward[int(c)], lw, shape.forward_passes);
    if (i >= shape.frozen_layers) {
      add(w.backward[int(c)], lw, shape.forward_passes);
      w.optimizer_floats += params[i];
      w.optimizer_tensors += tensors[i];
    }
  }
  for (int c = 0; c < kOpClasses; ++c) add(w.forward[c], forward_once[c], shape.no_grad_passes);
  return w;
}

ComputeWork training_step_work(const ModelSpec& arch, const TrainingShape& shape, int batch) {
  // DepthFL's trainer runs every exit head too (TrainingShape::all_exits), forward and backward.
  const int last = shape.all_exits ? static_cast<int>(arch.layers.size()) - 1 : arch.output();
  ComputeWork w = layers_step_work(arch, 0, last + 1, shape, batch);
  w.steps = 1;
  return w;
}

ComputeWork task_setup_work(const ModelSpec& arch) {
  std::vector<double> tensors;
  const std::vector<double> params = parameters_per_layer(arch, &tensors);
  ComputeWork w;
  w.tasks = 1;
  for (std::size_t i = 0; i < params.size(); ++i) w.setup_floats += params[i], w.setup_tensors += tensors[i];
  return w;
}

ComputeWork training_work(const ModelSpec& arch, const TrainingShape& shape, int batch, std::int64_t samples) {
  ComputeWork w;
  if (samples <= 0 || batch <= 0) return w;
  const std::int64_t full = samples / batch, rest = samples % batch;
  if (full > 0) w += training_step_work(arch, shape, batch).scaled(double(full));
  if (rest > 0) w += training_step_work(arch, shape, static_cast<int>(rest));
  return w;
}

}  // namespace edgesim
