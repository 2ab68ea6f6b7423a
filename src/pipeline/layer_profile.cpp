#include "edgesim/pipeline/layer_profile.hpp"

#include <algorithm>
#include <set>

#include "edgesim/device/cost.hpp"

namespace edgesim {
namespace {

constexpr int kModelInput = -1;

// The tensors layer k reads, as SpecNet runs it (model/network.cpp): its inputs, else the
// previous layer's output (the model input for layer 0). A positional embedding reads none.
std::vector<int> reads(const ModelSpec& s, int k) {
  const LayerSpec& l = s.layers[k];
  if (l.kind == LayerKind::kPositionalEmbedding) return {};
  if (!l.inputs.empty()) return l.kind == LayerKind::kAdd ? l.inputs : std::vector<int>{l.inputs[0]};
  return {k == 0 ? kModelInput : k - 1};
}

std::uint64_t input_floats(const ModelSpec& s) {
  return s.token_input ? std::uint64_t(s.in_h) : std::uint64_t(s.width(s.input_group)) * s.in_h * s.in_w;
}

// Floats per sample of the tensor layer j outputs (j = kModelInput: the model input).
std::uint64_t output_floats(const ModelSpec& s, int j) {
  if (j == kModelInput) return input_floats(s);
  const LayerSpec& l = s.layers[j];
  if (l.kind == LayerKind::kTiedHead) return std::uint64_t(l.vocab) * l.in_h;
  return std::uint64_t(l.out_group >= 0 ? s.width(l.out_group) : 0) * l.out_h * l.out_w;
}

std::set<int> crossing_producers(const ModelSpec& s, int cut) {
  std::set<int> crossing;
  for (int k = cut; k <= s.output(); ++k)
    for (int j : reads(s, k))
      if (j < cut) crossing.insert(j);
  return crossing;
}

// A positional embedding is one [seq, d] table shared by the batch, not a per-sample
// activation: a cut between it and its reader would ship a table the cost model does not
// count. Such cuts are not offered.
bool cut_allowed(const ModelSpec& s, int cut) {
  for (int j : crossing_producers(s, cut))
    if (j >= 0 && s.layers[j].kind == LayerKind::kPositionalEmbedding) return false;
  return true;
}

std::uint64_t count(const ModelSpec& s, const ParamSpec& p) {
  std::uint64_t n = 1;
  for (const ParamDim& d : p.dims) n *= static_cast<std::uint64_t>(s.extent(d));
  return n;
}

}  // namespace

std::vector<int> crossing_tensors(const ModelSpec& spec, int cut) {
  const std::set<int> c = crossing_producers(spec, cut);
  return {c.begin(), c.end()};
}

std::uint64_t crossing_bytes(const ModelSpec& spec, int cut) {
  std::uint64_t floats = 0;
  for (int j : crossing_producers(spec, cut)) floats += output_floats(spec, j);
  return 4 * floats;
}

double LayerProfile::forward_flops(int begin, int end) const {
  double f = 0;
  for (int u = begin; u < end; ++u) f += units[u].forward_flops;
  return f;
}

LayerProfile profile_layers(const ModelSpec& spec, CutPoints cuts) {
  const int layers = spec.output() + 1;
  std::vector<int> bounds{0};
  if (cuts == CutPoints::kLayers) {
    for (int c = 1; c < layers; ++c) bounds.push_back(c);
  } else {
    for (const BlockSpec& b : spec.blocks)
      for (int c : {b.begin, b.end})
        if (c > 0 && c < layers) bounds.push_back(c);
  }
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  bounds.erase(std::remove_if(bounds.begin() + 1, bounds.end(), [&](int c) { return !cut_allowed(spec, c); }),
               bounds.end());
  bounds.push_back(layers);

  std::vector<std::uint64_t> params(layers, 0), buffers(layers, 0);
  for (const ParamSpec& p : spec.parameters())
    if (p.layer < layers) params[p.layer] += count(spec, p);
  for (const ParamSpec& p : spec.buffers())
    if (p.layer < layers) buffers[p.layer] += count(spec, p);

  LayerProfile prof;
  prof.model = spec.name;
  std::vector<int> unit_of(layers, 0);
  for (std::size_t i = 0; i + 1 < bounds.size(); ++i) {
    LayerUnit u;
    u.begin = bounds[i], u.end = bounds[i + 1];
    for (int l = u.begin; l < u.end; ++l) {
      u.forward_flops += layer_forward_flops(spec, spec.layers[l]);
      u.parameters += params[l];
      u.buffers += buffers[l];
      u.activation_bytes += 4 * layer_activation_floats(spec, spec.layers[l]);
      unit_of[l] = static_cast<int>(i);
    }
    u.work_base = layers_step_work(spec, u.begin, u.end, TrainingShape{}, 0);
    u.work_per_sample = layers_step_work(spec, u.begin, u.end, TrainingShape{}, 1);
    u.work_per_sample += u.work_base.scaled(-1.0);
    prof.units.push_back(u);
    prof.cut_bytes.push_back(i == 0 ? 4 * input_floats(spec) : crossing_bytes(spec, u.begin));
  }
  prof.cut_bytes.push_back(0);
  for (int l = 0; l < layers; ++l) {
    const LayerSpec& ls = spec.layers[l];
    if (ls.kind == LayerKind::kTiedHead && unit_of[l] != unit_of[ls.tied_to])
      prof.tied.push_back({unit_of[l], unit_of[ls.tied_to], params[ls.tied_to]});
  }
  return prof;
}

}  // namespace edgesim
