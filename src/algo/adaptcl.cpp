#include "edgesim/algo/adaptcl.hpp"

namespace edgesim {
namespace {

RateLearnerOptions learner_options(const AlgorithmConfig& a) {
  RateLearnerOptions o;
  o.slack = a.adaptcl_slack;
  o.gain = a.adaptcl_gain;
  o.cost_exponent = a.adaptcl_cost_exponent;
  o.keep_min = a.adaptcl_keep_min;
  o.time_ema = a.adaptcl_time_ema;
  o.failure_backoff = a.adaptcl_failure_backoff;
  return o;
}

}  // namespace

AdaptCL::AdaptCL(const Experiment& experiment)
    : FedAvg(experiment),
      learner_(experiment.config.devices.count, learner_options(experiment.config.algorithm)),
      criterion_(parse_importance_criterion(experiment.config.algorithm.adaptcl_importance)) {}

void AdaptCL::begin_round(const torch::Tensor& global, int) {
  importance_ = unit_importance(experiment_.model, global, criterion_);
}

std::optional<SubmodelSpec> AdaptCL::submodel(int device, int) {
  return importance_submodel(experiment_.model, importance_, learner_.keep(device));
}

void AdaptCL::configure(int, int, TaskPlan& plan) {
  if (criterion_ == ImportanceCriterion::kBatchNormScale)
    plan.options.set("bn_l1", experiment_.config.algorithm.adaptcl_bn_l1);
}

void AdaptCL::observe_round(const std::vector<TaskResult>& tasks) {
  std::vector<PrunedRateLearner::Observation> seen;
  for (const auto& t : tasks)
    seen.push_back({static_cast<int>(t.device), t.end_s - t.start_s, t.status != TaskStatus::kOk});
  learner_.observe(seen);
}

std::optional<RateAssignment> AdaptCL::rate_assignment() const {
  std::vector<double> keep;
  for (int d = 0; d < experiment_.config.devices.count; ++d) keep.push_back(learner_.keep(d));
  return RateAssignment{"learned from each worker's observed update times (PrunedRateLearner); these are the starting keep rates",
                        keep, false};
}

}  // namespace edgesim
