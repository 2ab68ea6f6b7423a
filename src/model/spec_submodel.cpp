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

ModelSpec submodel_architecture(const ModelSpec& global, const SubmodelSpec& sub) {
  if (sub.kept.size() != global.groups.size()) throw std::invalid_argument("submodel spec does not match the model");
  ModelSpec s = global;
  for (std::size_t g = 0; g < s.groups.size(); ++g) {
    if (sub.kept[g].empty()) throw std::invalid_argument("submodel keeps no unit of group " + s.groups[g].name);
    if (!s.groups[g].sliceable && static_cast<int>(sub.kept[g].size()) != s.groups[g].units)
      throw std::invalid_argument("group " + s.groups[g].name + " cannot be sliced");
    s.groups[g].units = static_cast<int>(sub.kept[g].size());
  }
  return s;
}

namespace {

// The global positions along one tensor dimension that the submodel keeps.
std::vector<std::int64_t> dim_positions(const ModelSpec& global, const SubmodelSpec& sub, const ParamDim& d) {
  std::vector<std::int64_t> pos;
  if (d.group < 0) {
    for (std::int64_t i = 0; i < d.extent; ++i) pos.push_back(i);
    return pos;
  }
  const int w = global.groups[d.group].unit_width;
  for (std::int64_t u : sub.kept[d.group])
    for (int i = 0; i < w; ++i) pos.push_back(u * w + i);
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
  std::int64_t base = 0;
  for (const auto& list : {global.parameters(), global.buffers()}) {
    for (const auto& p : list) {
      append_tensor(global, sub, p, base, out);
      std::int64_t size = 1;
      for (const auto& d : p.dims) size *= global.extent(d);
      base += size;
    }
  }
  return out;
}

}  // namespace edgesim
