#include "edgesim/runtime/evaluation.hpp"

#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/bn_statistics.hpp"

namespace edgesim {
namespace {

// The policy's rule, unless `algorithm.bn_statistics` names one.
EvaluationRule resolved_rule(const Experiment& e, const Algorithm& algorithm) {
  EvaluationRule rule = algorithm.evaluation_rule();
  const std::string& bn = e.config.algorithm.bn_statistics;
  if (bn == "model") rule.bn_statistics = BnStatistics::kModel;
  if (bn == "training_pass") rule.bn_statistics = BnStatistics::kTrainingPass;
  return rule;
}

}  // namespace

GlobalEvaluation evaluate_global(const Experiment& e, const Algorithm& algorithm, GatherCache& cache, SpecNet& net,
                                 const torch::Tensor& global, int round, const Examples& test) {
  const EvaluationRule rule = resolved_rule(e, algorithm);
  const bool stats_pass = rule.bn_statistics == BnStatistics::kTrainingPass && has_batchnorm(e.model);
  const Examples stats = stats_pass ? bn_statistics_sample(e, round) : Examples{};
  // Each model evaluated (the whole one, every cut) gets its own statistics pass. The whole
  // model predicts as the policy says (DepthFL: its exits' mean); a cut with its own classifier.
  auto evaluate_model = [&](const ModelSpec& arch, const torch::Tensor& weights, SpecNet* built, bool whole) {
    SpecNet model{nullptr};
    if (stats_pass) {
      model = with_training_statistics(arch, weights, stats.x, e.config.algorithm.batch_size);
    } else {
      model = built ? *built : build_network(arch);
      load_weights(*model, weights);
    }
    if (!whole || rule.average_exits.empty()) return evaluate(model, test.x, test.y);
    return evaluate(model, test.x, test.y,
                    [&](const torch::Tensor& x) { return exit_average(model, x, rule.average_exits); });
  };
  GlobalEvaluation out;
  out.whole = evaluate_model(e.model, global, &net, true);
  for (double r : algorithm.eval_rates()) {
    // Rate 1 is the whole model, unless it predicts with its exits' average: then its own
    // classifier alone is reported too.
    if (r >= 1.0 && rule.average_exits.empty()) continue;
    const SubmodelSpec sub = algorithm.eval_submodel(e.model, r);
    const Evaluation ev =
        evaluate_model(submodel_architecture(e.model, sub), extract_submodel(global, cache.get(e.model, sub)), nullptr, false);
    out.widths.push_back({round, r, ev.accuracy, ev.loss});
  }
  return out;
}

}  // namespace edgesim
