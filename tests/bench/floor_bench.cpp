// The floor for docs/PERFORMANCE.md: the same SGD steps an edgesim FedAvg run makes (same
// model, data partition, batch size, local epochs and rounds, every device selected),
// done by a plain single-process LibTorch loop with no MPI, clock, results file or
// evaluation. Prints the wall time in seconds on the last line.
#include <torch/torch.h>

#include <chrono>
#include <cstdio>

#include "edgesim/io/config.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"

int main(int argc, char** argv) {
  using namespace edgesim;
  if (argc < 2) {
    std::fprintf(stderr, "usage: edgesim-floor-bench CONFIG.toml [section.key=value ...]\n");
    return 2;
  }
  const ExperimentConfig cfg = load_config(argv[1], std::vector<std::string>(argv + 2, argv + argc));
  torch::set_num_threads(cfg.run.threads);
  const Experiment e = Experiment::build(cfg);
  std::vector<torch::Tensor> xs, ys;
  for (const auto& idx : e.partition.indices) {
    Examples data = to_examples(e.train, idx);
    xs.push_back(data.x);
    ys.push_back(data.y);
  }
  auto net = build_network(e.model);
  const auto& a = cfg.algorithm;
  const auto start = std::chrono::steady_clock::now();
  std::int64_t steps = 0;
  for (int round = 1; round <= cfg.run.rounds; ++round) {
    for (std::size_t d = 0; d < xs.size(); ++d) {
      torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(a.lr).momentum(a.momentum).weight_decay(a.weight_decay));
      const std::int64_t n = xs[d].size(0);
      for (int epoch = 0; epoch < a.local_epochs; ++epoch) {
        const auto perm = torch::randperm(n);
        for (std::int64_t b = 0; b < n; b += a.batch_size, ++steps) {
          const auto idx = perm.narrow(0, b, std::min<std::int64_t>(a.batch_size, n - b));
          opt.zero_grad();
          auto loss = classification_loss(net->forward(xs[d].index_select(0, idx)), ys[d].index_select(0, idx));
          loss.backward();
          opt.step();
        }
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("steps %lld\nfloor_seconds %.3f\n", static_cast<long long>(steps), seconds);
  return 0;
}
