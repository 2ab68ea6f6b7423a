#include "edgesim/app/rate_summary.hpp"

#include <algorithm>
#include <sstream>

namespace edgesim {
namespace {

std::string number(double x) {
  std::ostringstream s;
  s << x;
  return s.str();
}

}  // namespace

RateSummary summarize_rates(const Experiment& e, const Algorithm& algorithm) {
  RateSummary out;
  const auto assignment = algorithm.rate_assignment();
  if (!assignment) return out;
  const auto& rates = assignment->rates;
  // Device classes in order of first appearance; a class can hold several rates (given rates
  // are cycled over devices, not over profiles).
  std::vector<std::string> classes;
  std::vector<std::vector<std::pair<double, int>>> counts;  // per class: (rate, devices)
  for (std::size_t d = 0; d < rates.size() && d < e.devices.size(); ++d) {
    const std::string& name = e.devices[d].name;
    auto it = std::find(classes.begin(), classes.end(), name);
    if (it == classes.end()) {
      classes.push_back(name);
      counts.emplace_back();
      it = classes.end() - 1;
    }
    auto& c = counts[it - classes.begin()];
    auto r = std::find_if(c.begin(), c.end(), [&](const auto& p) { return p.first == rates[d]; });
    if (r == c.end()) c.emplace_back(rates[d], 1);
    else ++r->second;
  }
  out.lines.push_back(std::string(assignment->fixed ? "rates" : "starting rates") + ": " + assignment->rule);
  std::string per_class = "  ";
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (i) per_class += ", ";
    per_class += classes[i] + " ";
    for (std::size_t j = 0; j < counts[i].size(); ++j)
      per_class += (j ? "/" : "") + number(counts[i][j].first) + " (x" + std::to_string(counts[i][j].second) + ")";
  }
  out.lines.push_back(per_class);

  const bool all_full = std::all_of(rates.begin(), rates.end(), [](double r) { return r >= 1.0 - 1e-12; });
  if (assignment->fixed && all_full)
    out.warnings.push_back("every device got the full model (rate 1) from " + assignment->rule +
                           " (it binds on none of these devices), so this " + e.config.algorithm.name +
                           " run trains exactly what FedAvg trains (only the merge weighting may differ); set "
                           "algorithm.rates, or rate_rule = \"memory_and_speed\", or smaller memory caps");
  return out;
}

}  // namespace edgesim
