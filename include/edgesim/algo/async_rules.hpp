#pragma once
// Staleness functions s(τ) of asynchronous aggregation (Xie et al., FedAsync, 2019): how much
// an update computed on a global model τ versions old still counts. `algorithm.staleness`:
//   constant:   s = 1
//   polynomial: s = (τ + 1)^(−a)
//   hinge:      s = 1 if τ <= b, else 1 / (a·(τ − b) + 1)
#include <cstdint>
#include <string>

namespace edgesim {

struct StalenessFunction {
  std::string kind = "polynomial";
  double a = 0.5, b = 4;
  double operator()(std::int64_t staleness) const;
};

}  // namespace edgesim
