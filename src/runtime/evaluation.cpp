#include "edgesim/runtime/evaluation.hpp"

#include "edgesim/model/submodel.hpp"

namespace edgesim {

GlobalEvaluation evaluate_global(const Experiment& e, const Algorithm& algorithm, GatherCache& cache, SpecNet& net,
                                 const torch::Tensor& global, int round, const Examples& test) {
  GlobalEvaluation out;
  load_weights(*net, global);
  const EvaluationRule rule = algorithm.evaluation_rule();
  if (rule.average_exits.empty()) {
    out.whole = evaluate(net, test.x, test.y);
  } else {
    out.whole = evaluate(net, test.x, test.y, [&](const torch::Tensor& x) { return exit_average(net, x, rule.average_exits); });
  }
  for (double r : algorithm.eval_rates()) {
    // Rate 1 is the whole model, unless it predicts with its exits' average: then its own
    // classifier alone is reported too.
    if (r >= 1.0 && rule.average_exits.empty()) continue;
    const SubmodelSpec sub = algorithm.eval_submodel(e.model, r);
    auto cut = build_network(submodel_architecture(e.model, sub));
    load_weights(*cut, extract_submodel(global, cache.get(e.model, sub)));
    const Evaluation ev = evaluate(cut, test.x, test.y);
    out.widths.push_back({round, r, ev.accuracy, ev.loss});
  }
  return out;
}

}  // namespace edgesim
