#include "edgesim/model/importance.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <stdexcept>

namespace edgesim {
namespace {

void accumulate(torch::Tensor& into, const torch::Tensor& x) { into = into.defined() ? into + x : x; }

}  // namespace

ImportanceCriterion parse_importance_criterion(const std::string& name) {
  if (name == "bn_gamma") return ImportanceCriterion::kBatchNormScale;
  if (name == "l2_norm") return ImportanceCriterion::kFilterNorm;
  throw std::invalid_argument("unknown importance criterion '" + name + "' (bn_gamma | l2_norm)");
}

std::vector<std::vector<double>> unit_importance(const ModelSpec& spec, const torch::Tensor& flat_weights,
                                                 ImportanceCriterion criterion) {
  std::map<std::string, LayerKind> kind_of;
  for (const auto& l : spec.layers) kind_of[l.name] = l.kind;
  const torch::Tensor flat = flat_weights.to(torch::kFloat64);

  // Per group: the squared L2 norm of each unit's producing rows, and the sum of |γ| over
  // the BatchNorm layers of the group.
  const std::size_t groups = spec.groups.size();
  std::vector<torch::Tensor> norm2(groups), gamma(groups);
  std::int64_t offset = 0;
  for (const ParamSpec& p : spec.parameters()) {
    std::int64_t numel = 1;
    for (const auto& d : p.dims) numel *= spec.extent(d);
    const auto dot = p.name.find('.');
    const LayerKind kind = kind_of.at(p.name.substr(0, dot));
    const bool weight = p.name.size() > 7 && p.name.compare(p.name.size() - 7, 7, ".weight") == 0;
    const int g = p.dims.empty() ? -1 : p.dims[0].group;
    if (weight && g >= 0 && spec.groups[g].sliceable) {
      const UnitGroup& group = spec.groups[g];
      // Rows of the output dimension, folded to units (an attention head spans unit_width rows).
      const auto rows = flat.narrow(0, offset, numel).view({group.units, -1});
      const bool producer = kind == LayerKind::kConv2d || kind == LayerKind::kLinear || kind == LayerKind::kSelfAttention;
      if (kind == LayerKind::kBatchNorm2d) accumulate(gamma[g], rows.abs().sum(1));
      else if (producer) accumulate(norm2[g], rows.pow(2).sum(1));
    }
    offset += numel;
  }

  std::vector<std::vector<double>> out(groups);
  for (std::size_t g = 0; g < groups; ++g) {
    if (!spec.groups[g].sliceable) continue;
    const bool by_gamma = criterion == ImportanceCriterion::kBatchNormScale && gamma[g].defined();
    torch::Tensor score = by_gamma ? gamma[g]
                          : norm2[g].defined() ? norm2[g].sqrt()
                                               : torch::zeros({spec.groups[g].units}, torch::kFloat64);
    score = score.contiguous();
    out[g].assign(score.data_ptr<double>(), score.data_ptr<double>() + score.numel());
  }
  return out;
}

SubmodelSpec importance_submodel(const ModelSpec& spec, const std::vector<std::vector<double>>& importance,
                                 double rate) {
  SubmodelSpec sub = full_submodel(spec);
  sub.rate = rate;
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    if (!spec.groups[g].sliceable) continue;
    const std::vector<double>& score = importance.at(g);
    std::vector<std::int64_t> order(score.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) { return score[a] > score[b]; });
    order.resize(static_cast<std::size_t>(kept_units(spec.groups[g].units, rate)));
    std::sort(order.begin(), order.end());
    sub.kept[g] = std::move(order);
  }
  return sub;
}

}  // namespace edgesim
