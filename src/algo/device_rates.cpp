#include "edgesim/algo/device_rates.hpp"

#include <algorithm>
#include <functional>
#include <sstream>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {

std::vector<double> device_rates(const Experiment& e) {
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
  const Slicing slicing = parse_slicing(a.slicing);
  const double full_flops = forward_flops(e.model);
  const int passes = a.fjord_distillation ? 2 : 1;  // FjORD's teacher and student graphs (only it accepts the key)
  for (int d = 0; d < n; ++d) {
    const DeviceProfile& p = e.devices[d];
    rates[d] = levels.back();
    for (double r : levels) {
      const ModelSpec arch = submodel_architecture(e.model, scaled_submodel(e.model, r, slicing));
      const bool fits = double(training_memory(arch, a.batch_size, a.momentum > 0, passes).total()) <=
                        a.rate_memory_margin * double(p.memory_cap_bytes);
      // Width: conv cost scales with r²; a cut in depth saves what its FLOPs say.
      const double compute_share = slicing == Slicing::kWidth ? r * r : forward_flops(arch) / full_flops;
      const bool fast_enough = a.rate_rule != "memory_and_speed" || compute_share * p.slowdown <= 1.0 + 1e-9;
      if (fits && fast_enough) {
        rates[d] = r;
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

}  // namespace edgesim
