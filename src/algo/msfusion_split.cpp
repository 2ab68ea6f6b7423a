#include "edgesim/algo/msfusion_split.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace edgesim {

std::vector<std::int64_t> window_units(int units, const SplitWindow& w) {
  if (units <= 0) return {};
  if (w.participants < 1 || w.participant < 0 || w.participant >= w.participants || !(w.length > 0) || w.length > 1)
    throw std::invalid_argument("split window: bad participant, count or length");
  const double gap = w.gap > 0 ? w.gap : 1.0 / w.participants;
  const std::int64_t d = units;
  const std::int64_t length = std::min<std::int64_t>(d, static_cast<std::int64_t>(std::ceil(w.length * d - 1e-9)));
  const std::int64_t offset = static_cast<std::int64_t>(std::floor(w.participant * gap * d + 1e-9));
  const std::int64_t start = ((offset + w.round * w.shift) % d + d) % d;
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(std::max<std::int64_t>(length, 1)));
  for (std::int64_t j = 0; j < std::max<std::int64_t>(length, 1); ++j) out.push_back((start + j) % d);
  return out;
}

SubmodelSpec split_submodel(const ModelSpec& global, const SplitWindow& w) {
  SubmodelSpec s = full_submodel(global);
  for (std::size_t g = 0; g < global.groups.size(); ++g)
    if (global.groups[g].sliceable) s.kept[g] = window_units(global.groups[g].units, w);
  s.rate = w.length;
  return s;
}

namespace {

std::int64_t common_units(std::vector<std::int64_t> x, std::vector<std::int64_t> y) {
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  std::int64_t n = 0;
  for (std::size_t i = 0, j = 0; i < x.size() && j < y.size();) {
    if (x[i] < y[j]) ++i;
    else if (y[j] < x[i]) ++j;
    else ++n, ++i, ++j;
  }
  return n;
}

}  // namespace

std::int64_t common_entries(const ModelSpec& global, const SubmodelSpec& a, const SubmodelSpec& b) {
  if (a.depth != -1 || b.depth != -1) throw std::invalid_argument("common_entries: submodels cut in depth");
  // A submodel's entries of a tensor are the Cartesian product of its kept positions per
  // dimension (model/submodel.hpp), and a group dimension's positions are its kept units times
  // each unit's entries (an attention head's kept dimensions): so the common entries multiply.
  std::vector<std::int64_t> per_group(global.groups.size());
  for (std::size_t g = 0; g < global.groups.size(); ++g) per_group[g] = common_units(a.kept[g], b.kept[g]);
  std::int64_t total = 0;
  std::vector<ParamSpec> tensors = global.parameters();
  for (ParamSpec& p : global.buffers()) tensors.push_back(std::move(p));
  for (const ParamSpec& p : tensors) {
    std::int64_t n = 1;
    for (const ParamDim& d : p.dims) {
      if (d.group < 0) {
        n *= d.extent;
        continue;
      }
      const int inner = global.groups[d.group].inner;
      n *= per_group[d.group] * (inner >= 0 ? per_group[inner] : global.unit_width(d.group));
    }
    total += n;
  }
  return total;
}

}  // namespace edgesim
