#include "edgesim/algo/fjord.hpp"

#include <algorithm>

namespace edgesim {

FjORD::FjORD(const Experiment& experiment)
    : HeteroFL(experiment), levels_(parse_rate_list(experiment.config.algorithm.rate_levels)) {
  std::sort(levels_.begin(), levels_.end());
}

std::optional<SubmodelSpec> FjORD::submodel(int device, int round) {
  return prefix_submodel(experiment_.model, rates_.at(device));
}

void FjORD::configure(int device, int round, TaskPlan& plan) {
  HeteroFL::configure(device, round, plan);
  plan.trainer = "ordered_dropout";
  plan.options.set("widths", widths(device));
  if (experiment_.config.algorithm.fjord_distillation) plan.options.set("distill", 1.0);
}

std::vector<double> FjORD::widths(int device) const {
  // The levels below p_max, and p_max itself even when it is not a level (a rate given per
  // device): every unit the device holds must get trained.
  const double p_max = rates_.at(device);
  std::vector<double> up_to_max;
  for (double p : levels_)
    if (p < p_max - 1e-12) up_to_max.push_back(p);
  up_to_max.push_back(p_max);
  return up_to_max;
}

std::vector<double> FjORD::eval_rates() const {
  const double top = *std::max_element(rates_.begin(), rates_.end());
  std::vector<double> out;
  for (double p : levels_)
    if (p <= top + 1e-12) out.push_back(p);
  return out;
}

}  // namespace edgesim
