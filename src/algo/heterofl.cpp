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

void HeteroFL::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  const std::string& rule = experiment_.config.algorithm.label_split_merge;
  if (!(rule == "auto" ? published_label_split() : rule == "on")) return FedAvg::merge(global, accepted);
  if (!label_split_) label_split_.emplace(experiment_.model, device_labels(experiment_));
  average_updates_label_split(global, accepted,
                              weighting_from_config(experiment_.config.algorithm.weighting, published_weighting()),
                              *label_split_);
}

EvaluationRule HeteroFL::evaluation_rule() const {
  EvaluationRule rule;
  rule.bn_statistics = BnStatistics::kTrainingPass;
  return rule;
}

std::vector<double> HeteroFL::eval_rates() const {
  std::set<double> distinct(rates_.begin(), rates_.end());
  return {distinct.begin(), distinct.end()};
}

std::optional<RateAssignment> HeteroFL::rate_assignment() const {
  return RateAssignment{rate_rule_description(experiment_), rates_, true};
}

}  // namespace edgesim
