#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "edgesim/model/submodel.hpp"

namespace edgesim {

int kept_units(int units, double rate) {
  return std::clamp(static_cast<int>(std::ceil(rate * units - 1e-9)), 1, units);
}

SubmodelSpec full_submodel(const ModelSpec& global) { return prefix_submodel(global, 1.0); }

bool keeps_everything(const ModelSpec& global, const SubmodelSpec& sub) {
  const bool all_layers = sub.depth == -1 || (sub.depth == static_cast<int>(global.blocks.size()) && !global.has_exits());
  if (!all_layers) return false;
  for (std::size_t g = 0; g < global.groups.size(); ++g) {
    const auto& k = sub.kept[g];
    if (static_cast<int>(k.size()) != global.groups[g].units) return false;
    for (std::size_t i = 0; i < k.size(); ++i)
      if (k[i] != static_cast<std::int64_t>(i)) return false;
  }
  return true;
}

SubmodelSpec prefix_submodel(const ModelSpec& global, double rate) {
  SubmodelSpec sub;
  sub.rate = rate;
  for (const auto& g : global.groups) {
    const int n = g.sliceable ? kept_units(g.units, rate) : g.units;
    std::vector<std::int64_t> k(n);
    for (int i = 0; i < n; ++i) k[i] = i;
    sub.kept.push_back(std::move(k));
  }
  return sub;
}

SubmodelSpec rolling_submodel(const ModelSpec& global, double rate, std::int64_t round) {
  SubmodelSpec sub = prefix_submodel(global, rate);
  for (std::size_t g = 0; g < global.groups.size(); ++g) {
    if (!global.groups[g].sliceable) continue;
    const std::int64_t c = global.groups[g].units, shift = round % c;
    for (std::size_t j = 0; j < sub.kept[g].size(); ++j) sub.kept[g][j] = ((std::int64_t(j) - shift) % c + c) % c;
  }
  return sub;
}

Slicing parse_slicing(const std::string& name) {
  if (name == "width") return Slicing::kWidth;
  if (name == "depth") return Slicing::kDepth;
  if (name == "width_and_depth") return Slicing::kWidthAndDepth;
  throw std::invalid_argument("unknown slicing '" + name + "' (width, depth, width_and_depth)");
}

SubmodelSpec scaled_submodel(const ModelSpec& global, double rate, Slicing slicing) {
  SubmodelSpec sub = slicing == Slicing::kDepth ? full_submodel(global) : prefix_submodel(global, rate);
  sub.rate = rate;  // what /tasks.rate reports, for any slicing
  if (slicing == Slicing::kWidth) return sub;
  if (global.blocks.empty()) throw std::invalid_argument("model " + global.name + " has no blocks to cut in depth");
  sub.depth = kept_units(static_cast<int>(global.blocks.size()), rate);
  return sub;
}

namespace {

// The global layers a submodel of `depth` keeps, in the submodel's order (the global order:
// gather_index lists tensors that way), with the exit heads of the blocks in `exits`.
std::vector<int> kept_layers(const ModelSpec& global, int depth, const std::vector<std::int32_t>& exits) {
  std::vector<int> out;
  auto take = [&](int begin, int end) {
    for (int i = begin; i < end; ++i) out.push_back(i);
  };
  const int blocks = static_cast<int>(global.blocks.size());
  if (depth == -1) {
    if (!exits.empty()) throw std::invalid_argument("a whole-model submodel keeps every exit head already");
    take(0, static_cast<int>(global.layers.size()));
    return out;
  }
  if (depth < 1 || depth > blocks)
    throw std::invalid_argument("submodel depth " + std::to_string(depth) + " out of range: model " + global.name +
                                " has " + std::to_string(blocks) + " blocks");
  auto exit_of = [&](int block) -> const BlockSpec& {
    const BlockSpec& b = global.blocks[block - 1];
    if (!b.has_exit())
      throw std::invalid_argument("a submodel of depth " + std::to_string(depth) + " of " + std::to_string(blocks) +
                                  (block == depth ? " ends with" : " also keeps") + " block " + std::to_string(block) +
                                  "'s early-exit head, and model " + global.name +
                                  " has none (set model.early_exits = true; with model.exit_blocks, list that block)");
    return b;
  };
  for (std::size_t i = 0; i < exits.size(); ++i)
    if (exits[i] < 1 || exits[i] >= depth || (i > 0 && exits[i] <= exits[i - 1]))
      throw std::invalid_argument("submodel exits must be ascending blocks below its depth " + std::to_string(depth));
  take(0, depth == blocks ? global.output() + 1 : global.blocks[depth - 1].end);
  for (int j : exits) take(exit_of(j).exit_begin, exit_of(j).exit_end);
  if (depth < blocks) take(exit_of(depth).exit_begin, exit_of(depth).exit_end);
  return out;
}

}  // namespace

ModelSpec submodel_architecture(const ModelSpec& global, const std::vector<std::int32_t>& units, int depth,
                                const std::vector<std::int32_t>& exits) {
  ModelSpec s = global;
  if (!units.empty()) {
    if (units.size() != global.groups.size()) throw std::invalid_argument("submodel shape does not match the model");
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
      const UnitGroup& full = global.groups[g];
      if (units[g] < 1 || units[g] > full.units)
        throw std::invalid_argument("submodel keeps " + std::to_string(units[g]) + " units of group " + full.name +
                                    " (of " + std::to_string(full.units) + ")");
      if (!full.sliceable && units[g] != full.units)
        throw std::invalid_argument("group " + full.name + " cannot be sliced");
      s.groups[g].units = units[g];
    }
  }
  if (depth == -1) return s;
  // Keep the layers up to the cut and the classifier after it, renumbering their inputs.
  std::vector<int> renumbered(global.layers.size(), -1);
  s.layers.clear();
  for (int i : kept_layers(global, depth, exits)) {
    LayerSpec l = global.layers[i];
    if (l.inputs.empty() && i > 0 && renumbered[i - 1] != static_cast<int>(s.layers.size()) - 1)
      l.inputs = {i - 1};  // its producer was the previous global layer, no longer the previous one here
    auto renumber = [&](int& layer) {
      layer = renumbered.at(layer);
      if (layer < 0) throw std::logic_error("layer " + l.name + " reads a layer its submodel drops");
    };
    for (int& in : l.inputs) renumber(in);
    if (l.tied_to >= 0) renumber(l.tied_to);
    renumbered[i] = static_cast<int>(s.layers.size());
    s.layers.push_back(std::move(l));
  }
  s.blocks.resize(depth);
  for (auto& b : s.blocks) b.exit_begin = b.exit_end = -1;
  for (int j : exits) {
    const BlockSpec& g = global.blocks[j - 1];
    s.blocks[j - 1].exit_begin = renumbered[g.exit_begin];
    s.blocks[j - 1].exit_end = renumbered[g.exit_end - 1] + 1;
  }
  // Cut in depth, the classifier is the last layer, unless the full depth keeps exit heads
  // after the model's own classifier.
  s.output_layer = depth == static_cast<int>(global.blocks.size()) && !exits.empty() ? renumbered[global.output()] : -1;
  return s;
}

ModelSpec submodel_architecture(const ModelSpec& global, const SubmodelSpec& sub) {
  if (sub.kept.size() != global.groups.size()) throw std::invalid_argument("submodel spec does not match the model");
  std::vector<std::int32_t> units;
  for (const auto& k : sub.kept) units.push_back(static_cast<std::int32_t>(k.size()));
  return submodel_architecture(global, units, sub.depth, sub.exits);
}

namespace {

// The global positions along one tensor dimension that the submodel keeps.
std::vector<std::int64_t> dim_positions(const ModelSpec& global, const SubmodelSpec& sub, const ParamDim& d) {
  std::vector<std::int64_t> pos;
  if (d.group < 0) {
    for (std::int64_t i = 0; i < d.extent; ++i) pos.push_back(i);
    return pos;
  }
  const int w = global.unit_width(d.group);
  const int inner = global.groups[d.group].inner;
  for (std::int64_t u : sub.kept[d.group]) {
    if (inner >= 0) {
      for (std::int64_t i : sub.kept[inner]) pos.push_back(u * w + i);  // the same dimensions in every head
    } else {
      for (int i = 0; i < w; ++i) pos.push_back(u * w + i);
    }
  }
  return pos;
}

void append_tensor(const ModelSpec& global, const SubmodelSpec& sub, const ParamSpec& p, std::int64_t base,
                   std::vector<std::int64_t>& out) {
  const std::size_t n = p.dims.size();
  std::vector<std::vector<std::int64_t>> pos(n);
  std::vector<std::int64_t> stride(n, 1);
  for (std::size_t i = 0; i < n; ++i) pos[i] = dim_positions(global, sub, p.dims[i]);
  for (std::size_t i = n; i-- > 1;) stride[i - 1] = stride[i] * global.extent(p.dims[i]);
  // Row-major walk over the kept positions of every dimension.
  std::vector<std::size_t> at(n, 0);
  for (;;) {
    std::int64_t offset = base;
    for (std::size_t i = 0; i < n; ++i) offset += pos[i][at[i]] * stride[i];
    out.push_back(offset);
    std::size_t i = n;
    while (i > 0 && ++at[i - 1] == pos[i - 1].size()) at[--i] = 0;
    if (i == 0) return;
  }
}

}  // namespace

std::vector<std::int64_t> gather_index(const ModelSpec& global, const SubmodelSpec& sub) {
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(submodel_architecture(global, sub).state_count()));
  std::vector<char> kept(global.layers.size(), 0);
  for (int i : kept_layers(global, sub.depth, sub.exits)) kept[i] = 1;
  // The submodel lists its tensors in the global order, without those of the layers it drops.
  std::int64_t base = 0;
  for (const auto& list : {global.parameters(), global.buffers()}) {
    for (const auto& p : list) {
      if (kept[p.layer]) append_tensor(global, sub, p, base, out);
      std::int64_t size = 1;
      for (const auto& d : p.dims) size *= global.extent(d);
      base += size;
    }
  }
  return out;
}

}  // namespace edgesim
