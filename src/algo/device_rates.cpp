#include "edgesim/algo/device_rates.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/trainer/trainer.hpp"

namespace edgesim {

std::vector<double> device_rates(const Experiment& e) {
  const auto& a = e.config.algorithm;
  const Slicing slicing = parse_slicing(a.slicing);
  const double full_flops = forward_flops(e.model);
  const int passes = a.fjord_distillation ? 2 : 1;  // FjORD's teacher and student graphs (only it accepts the key)
  return device_rates(e, [&](double r) {
    const ModelSpec arch = submodel_architecture(e.model, scaled_submodel(e.model, r, slicing));
    // Width: conv cost scales with r²; a cut in depth saves what its FLOPs say.
    return RateFootprint{training_memory(arch, a.batch_size, a.momentum > 0, passes).total(),
                         slicing == Slicing::kWidth ? r * r : forward_flops(arch) / full_flops};
  });
}

std::vector<double> device_rates(const Experiment& e, const RateCost& cost) {
  const auto& a = e.config.algorithm;
  const int n = static_cast<int>(e.devices.size());
  std::vector<double> rates(n);
  if (!a.rates.empty()) {
    const auto given = parse_rate_list(a.rates);
    for (int d = 0; d < n; ++d) rates[d] = given[d % given.size()];
    return rates;
  }
  auto levels = parse_rate_list(a.rate_levels);
  std::sort(levels.begin(), levels.end(), std::greater<>());
  std::vector<RateFootprint> footprints;
  for (double r : levels) footprints.push_back(cost(r));
  for (int d = 0; d < n; ++d) {
    const DeviceProfile& p = e.devices[d];
    rates[d] = levels.back();
    for (std::size_t i = 0; i < levels.size(); ++i) {
      const bool fits = double(footprints[i].memory_bytes) <= a.rate_memory_margin * double(p.memory_cap_bytes);
      const bool fast_enough =
          a.rate_rule != "memory_and_speed" || footprints[i].compute_share * p.slowdown <= 1.0 + 1e-9;
      if (fits && fast_enough) {
        rates[d] = levels[i];
        break;
      }
    }
  }
  return rates;
}

std::string rate_rule_description(const Experiment& e) {
  const auto& a = e.config.algorithm;
  if (!a.rates.empty()) return "algorithm.rates = \"" + a.rates + "\" (given per device, cycled)";
  std::ostringstream margin;
  margin << a.rate_memory_margin;
  std::string rule = "algorithm.rate_rule = \"" + a.rate_rule + "\": the largest of rate_levels \"" + a.rate_levels +
                     "\" whose training footprint fits " + margin.str() + " x the device's memory cap";
  if (a.rate_rule == "memory_and_speed") rule += " and whose compute (r^2 x slowdown) is at most the reference device's";
  return rule;
}

RateFootprint exits_training_footprint(const Experiment& experiment, const TaskPlan& plan) {
  const auto& a = experiment.config.algorithm;
  const LocalRecipe recipe{a.local_epochs, a.batch_size, a.lr, a.momentum, a.weight_decay};
  const Examples none;
  TaskOrder order;
  order.options = plan.options;
  const ModelSpec arch = plan.submodel ? submodel_architecture(experiment.model, *plan.submodel) : experiment.model;
  const TrainerInput in{experiment.model, arch, recipe, none, order, experiment.config.run.seed};
  TrainingShape shape;
  shape.all_exits = true;
  shape.frozen_layers = static_cast<int>(plan.options.number("frozen_layers", 0));
  return RateFootprint{trainer_named(plan.trainer).memory_bytes(in),
                       training_flops_per_sample(arch, shape) / training_flops_per_sample(experiment.model)};
}

}  // namespace edgesim
