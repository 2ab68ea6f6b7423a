#include "edgesim/runtime/bn_statistics.hpp"

#include <algorithm>

namespace edgesim {

bool has_batchnorm(const ModelSpec& arch) {
  return std::any_of(arch.layers.begin(), arch.layers.end(),
                     [](const LayerSpec& l) { return l.kind == LayerKind::kBatchNorm2d; });
}

Examples bn_statistics_sample(const Experiment& e, int round) {
  std::vector<std::int64_t> pool;
  for (const auto& device : e.partition.indices) pool.insert(pool.end(), device.begin(), device.end());
  std::sort(pool.begin(), pool.end());
  pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
  const std::int64_t n = e.config.algorithm.bn_stats_samples;
  if (n > 0 && n < static_cast<std::int64_t>(pool.size())) {
    Rng rng(e.config.run.seed, Purpose::kBnStatistics, static_cast<std::uint64_t>(round));
    rng.shuffle(pool);
    pool.resize(static_cast<std::size_t>(n));
  }
  return to_examples(e.train, pool);
}

SpecNet with_training_statistics(const ModelSpec& arch, const torch::Tensor& weights, const torch::Tensor& x, int batch) {
  ModelSpec tracked = arch;
  for (LayerSpec& l : tracked.layers)
    if (l.kind == LayerKind::kBatchNorm2d) l.running_stats = true;
  SpecNet net = build_network(tracked);
  load_parameters(*net, weights);
  net->track_cumulative_batchnorm_statistics();
  {
    torch::NoGradGuard no_grad;
    net->train();
    for (std::int64_t b = 0; b < x.size(0); b += batch) net->forward(x.narrow(0, b, std::min<std::int64_t>(batch, x.size(0) - b)));
  }
  net->eval();
  return net;
}

}  // namespace edgesim
