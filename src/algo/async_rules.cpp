#include "edgesim/algo/async_rules.hpp"

#include <cmath>

namespace edgesim {

double StalenessFunction::operator()(std::int64_t staleness) const {
  const double t = static_cast<double>(staleness);
  if (kind == "constant") return 1.0;
  if (kind == "hinge") return t <= b ? 1.0 : 1.0 / (a * (t - b) + 1.0);
  return std::pow(t + 1.0, -a);
}

}  // namespace edgesim
