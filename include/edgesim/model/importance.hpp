#pragma once
// Channel importance: how much each unit of each sliceable group matters, read from the
// global model's flat weights, and the submodel that keeps the most important units.
//   kBatchNormScale: |γ| of the BatchNorm layers that normalise the group's channels
//                    (Network Slimming, Liu et al. 2017); groups without BN fall back to
//   kFilterNorm:     the L2 norm of the unit's producing filters/rows (conv and linear
//                    weights whose output dimension is the group; Li et al. 2017).
#include <torch/torch.h>

#include <vector>

#include "edgesim/model/spec.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {

enum class ImportanceCriterion { kBatchNormScale, kFilterNorm };
ImportanceCriterion parse_importance_criterion(const std::string& name);  // "bn_gamma" | "l2_norm"

// [group][unit] -> importance (empty for groups that are not sliceable).
std::vector<std::vector<double>> unit_importance(const ModelSpec& spec, const torch::Tensor& flat_weights,
                                                 ImportanceCriterion criterion);

// In every sliceable group, the ceil(rate·C) units of highest importance (ties: lower
// index first), listed in ascending index order so the submodel keeps the global layout.
SubmodelSpec importance_submodel(const ModelSpec& spec, const std::vector<std::vector<double>>& importance,
                                 double rate);

}  // namespace edgesim
