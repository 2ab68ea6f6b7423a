#include "edgesim/algo/heterofl.hpp"

#include <set>

#include "edgesim/algo/device_rates.hpp"

namespace edgesim {

HeteroFL::HeteroFL(const Experiment& experiment)
    : FedAvg(experiment), rates_(device_rates(experiment)), slicing_(parse_slicing(experiment.config.algorithm.slicing)) {}

std::optional<SubmodelSpec> HeteroFL::submodel(int device, int) {
  return scaled_submodel(experiment_.model, rates_.at(device), slicing_);
}

SubmodelSpec HeteroFL::eval_submodel(const ModelSpec& model, double rate) const {
  return scaled_submodel(model, rate, slicing_);
}

void HeteroFL::configure(int, int, TaskPlan& plan) {
  if (experiment_.config.algorithm.masked_ce) plan.options.set("masked_ce", 1.0);
}

std::vector<double> HeteroFL::eval_rates() const {
  std::set<double> distinct(rates_.begin(), rates_.end());
  return {distinct.begin(), distinct.end()};
}

std::optional<RateAssignment> HeteroFL::rate_assignment() const {
  return RateAssignment{rate_rule_description(experiment_), rates_, true};
}

}  // namespace edgesim
