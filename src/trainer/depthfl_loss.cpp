#include "edgesim/trainer/depthfl_loss.hpp"

#include "edgesim/model/network.hpp"

namespace edgesim {

torch::Tensor mutual_distillation_loss(const std::vector<torch::Tensor>& logits, const torch::Tensor& targets,
                                       double weight, double temperature) {
  const std::size_t k = logits.size();
  torch::Tensor loss = torch::zeros({}, logits.at(0).options());
  for (std::size_t i = 0; i < k; ++i) {
    loss = loss + classification_loss(logits[i], targets);
    if (weight == 0.0 || k < 2) continue;
    const auto student = torch::log_softmax(logits[i] / temperature, -1);
    for (std::size_t j = 0; j < k; ++j) {
      if (j == i) continue;
      const auto teacher = torch::log_softmax(logits[j].detach() / temperature, -1);
      const auto kl = (teacher.exp() * (teacher - student)).sum(-1).mean();
      loss = loss + kl * (weight * temperature * temperature / double(k - 1));
    }
  }
  return loss;
}

torch::Tensor feddyn_penalty(const torch::Tensor& theta, const torch::Tensor& received, const torch::Tensor& h,
                             double alpha) {
  return -torch::dot(theta, h) + 0.5 * alpha * (theta - received).square().sum();
}

torch::Tensor feddyn_next_state(const torch::Tensor& h, const torch::Tensor& theta, const torch::Tensor& received,
                                double alpha) {
  return h - alpha * (theta.detach() - received);
}

}  // namespace edgesim
