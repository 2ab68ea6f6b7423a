#include "edgesim/algo/fedavg.hpp"

#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

FedAvg::FedAvg(const Experiment& experiment) : experiment_(experiment) {}

std::vector<int> FedAvg::select(int round) {
  const auto& c = experiment_.config;
  return select_fraction(c.devices.count, c.algorithm.fraction, c.run.seed, round);
}

TaskPlan FedAvg::plan(int device, int round) {
  TaskPlan p;
  p.submodel = submodel(device, round);
  if (p.submodel && !keeps_everything(experiment_.model, *p.submodel)) {
    // HeteroFL's scaler compensates for missing width; a submodel cut only in depth has none.
    bool narrower = false;
    for (std::size_t g = 0; g < p.submodel->kept.size(); ++g)
      narrower |= static_cast<int>(p.submodel->kept[g].size()) < experiment_.model.groups[g].units;
    if (experiment_.config.model.scaler && narrower) p.options.set("scale", 1.0 / p.submodel->rate);
  }
  configure(device, round, p);
  return p;
}

void FedAvg::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  average_updates(global, accepted, weighting_from_config(experiment_.config.algorithm.weighting, published_weighting()));
}

}  // namespace edgesim
