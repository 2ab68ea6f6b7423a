#include "edgesim/model/aggregate.hpp"

namespace edgesim {

torch::Tensor gather_tensor(const std::vector<std::int64_t>& gather) {
  return torch::from_blob(const_cast<std::int64_t*>(gather.data()), {static_cast<std::int64_t>(gather.size())},
                          torch::kInt64)
      .clone();
}

torch::Tensor extract_submodel(const torch::Tensor& global, const torch::Tensor& gather) {
  return gather.defined() ? global.index_select(0, gather) : global.clone();
}

CoverageAverage::CoverageAverage(std::int64_t global_size)
    : sum_(torch::zeros({global_size}, torch::kFloat64)), weight_sum_(torch::zeros({global_size}, torch::kFloat64)) {}

void CoverageAverage::add(const torch::Tensor& sub_weights, const torch::Tensor& gather, double weight) {
  const auto x = sub_weights.to(torch::kFloat64);
  if (!gather.defined()) {
    sum_.add_(x, weight);
    weight_sum_.add_(weight);
    return;
  }
  sum_.index_add_(0, gather, x, weight);
  weight_sum_.index_add_(0, gather, torch::ones({gather.numel()}, torch::kFloat64), weight);
}

void CoverageAverage::add(const torch::Tensor& sub_weights, const torch::Tensor& gather, double weight,
                          const torch::Tensor& entry_weights) {
  const auto w = entry_weights.to(torch::kFloat64);
  const auto x = sub_weights.to(torch::kFloat64) * w;
  if (!gather.defined()) {
    sum_.add_(x, weight);
    weight_sum_.add_(w, weight);
    return;
  }
  sum_.index_add_(0, gather, x, weight);
  weight_sum_.index_add_(0, gather, w, weight);
}

torch::Tensor CoverageAverage::merged(const torch::Tensor& global) const {
  const auto covered = weight_sum_ > 0;
  const auto mean = (sum_ / weight_sum_.clamp_min(1e-300)).to(torch::kFloat32);
  return torch::where(covered, mean, global);
}

}  // namespace edgesim
