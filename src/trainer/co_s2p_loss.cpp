#include "edgesim/trainer/co_s2p_loss.hpp"

#include <stdexcept>

#include "edgesim/model/network.hpp"

namespace edgesim {

torch::Tensor cross_block_distillation_loss(const std::vector<torch::Tensor>& logits, const torch::Tensor& targets,
                                            double gamma, double temperature, bool distill) {
  if (logits.empty()) throw std::invalid_argument("cross_block_distillation_loss: no exits");
  const torch::Tensor& deepest = logits.back();
  torch::Tensor loss = classification_loss(deepest, targets);
  if (logits.size() == 1) return loss;
  const torch::Tensor teacher = torch::log_softmax(deepest.detach() / temperature, -1);
  for (std::size_t i = 0; i + 1 < logits.size(); ++i) {
    loss = loss + classification_loss(logits[i], targets);
    if (!distill || gamma == 0.0) continue;
    const torch::Tensor student = torch::log_softmax(logits[i] / temperature, -1);
    const torch::Tensor kl = (teacher.exp() * (teacher - student)).sum(-1).mean();
    loss = loss + kl * (gamma * temperature * temperature);
  }
  return loss;
}

std::vector<double> staleness_aware_weights(const std::vector<double>& delta_l1, const std::vector<double>& rates,
                                            const std::vector<double>& drift_l1) {
  const std::size_t n = delta_l1.size();
  if (rates.size() != n || drift_l1.size() != n) throw std::invalid_argument("staleness_aware_weights: sizes differ");
  std::vector<double> w(n, 0.0);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!(rates[i] > 0) || delta_l1[i] < 0 || drift_l1[i] < 0)
      throw std::invalid_argument("staleness_aware_weights: rates must be > 0 and norms >= 0");
    w[i] = (delta_l1[i] / rates[i]) / (drift_l1[i] + 1.0);
    total += w[i];
  }
  for (double& x : w) x = total > 0 ? x / total : 1.0 / double(n);
  return w;
}

}  // namespace edgesim
