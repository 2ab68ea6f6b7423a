#include "edgesim/algo/heterofl.hpp"

#include <set>

#include "edgesim/algo/device_rates.hpp"
#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

HeteroFL::HeteroFL(const Experiment& experiment)
    : FedAvg(experiment), experiment_(experiment), rates_(device_rates(experiment)) {}

std::optional<SubmodelSpec> HeteroFL::submodel(int device, int) {
  return prefix_submodel(experiment_.model, rates_.at(device));
}

std::vector<double> HeteroFL::eval_rates() const {
  std::set<double> distinct(rates_.begin(), rates_.end());
  return {distinct.begin(), distinct.end()};
}

void HeteroFL::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  average_updates(global, accepted, weighting_from_config(experiment_.config.algorithm.weighting, Weighting::kUniform));
}

}  // namespace edgesim
