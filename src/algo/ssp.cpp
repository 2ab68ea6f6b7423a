#include "edgesim/algo/ssp.hpp"

#include "edgesim/algo/round_rules.hpp"

namespace edgesim {

Ssp::Ssp(const Experiment& experiment) : experiment_(experiment) {
  for (const auto& indices : experiment.partition.indices) total_samples_ += double(indices.size());
}

std::vector<int> Ssp::select(int) {
  std::vector<int> all(static_cast<std::size_t>(experiment_.config.devices.count));
  for (std::size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int>(d);
  return all;
}

void Ssp::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  const bool by_samples =
      weighting_from_config(experiment_.config.algorithm.weighting, Weighting::kSamples) == Weighting::kSamples;
  const double n = double(experiment_.config.devices.count);
  auto g = global.to(torch::kFloat64);
  for (const TaskResult* t : accepted) {
    const double w = by_samples ? double(t->local_samples) / total_samples_ : 1.0 / n;
    g += w * (t->weights.to(torch::kFloat64) - t->start_model.to(torch::kFloat64));
  }
  global = g.to(torch::kFloat32);
}

}  // namespace edgesim
