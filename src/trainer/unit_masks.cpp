#include "edgesim/trainer/unit_masks.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace edgesim {
namespace {

// One Bernoulli(p) draw per entry, from the task's stream (so runs are reproducible).
torch::Tensor bernoulli(const torch::Tensor& p, Rng& rng) {
  const auto probs = p.detach().contiguous();
  auto out = torch::empty_like(probs);
  const float* src = probs.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  for (std::int64_t i = 0; i < probs.numel(); ++i) dst[i] = rng.uniform() < src[i] ? 1.0f : 0.0f;
  return out;
}

}  // namespace

std::vector<torch::Tensor> learn_unit_masks(SpecNet& net, const Examples& data, const UnitMaskOptions& o, Rng& rng) {
  const ModelSpec& spec = net->spec();
  const double r = std::clamp(o.rate, 1e-3, 1.0 - 1e-3);
  std::vector<torch::Tensor> scores(spec.groups.size());
  std::vector<torch::Tensor> trainable;
  for (std::size_t g = 0; g < spec.groups.size(); ++g) {
    if (!spec.groups[g].sliceable) continue;
    scores[g] = torch::full({spec.groups[g].units}, std::log(r / (1 - r))).requires_grad_(true);
    trainable.push_back(scores[g]);
  }
  // Frozen: no weight gets a gradient, and BatchNorm normalises with (and keeps) its running
  // statistics [choice].
  const bool was_training = net->is_training();
  net->eval();
  std::vector<bool> grad_was;
  for (auto& p : net->parameters()) grad_was.push_back(p.requires_grad()), p.requires_grad_(false);
  torch::optim::Adam adam(trainable, torch::optim::AdamOptions(o.lr));
  const std::int64_t n = data.x.size(0);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (int epoch = 0; epoch < o.epochs && !trainable.empty(); ++epoch) {
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(order);
    const torch::Tensor index = torch::tensor(order, torch::kLong);
    for (std::int64_t start = 0; start < n; start += o.batch_size) {
      const auto batch = index.narrow(0, start, std::min<std::int64_t>(o.batch_size, n - start));
      std::vector<torch::Tensor> gates(spec.groups.size());
      torch::Tensor share_error = torch::zeros({});
      for (std::size_t g = 0; g < scores.size(); ++g) {
        if (!scores[g].defined()) continue;
        const auto p = torch::sigmoid(scores[g]);
        gates[g] = bernoulli(p, rng) + p - p.detach();  // straight through
        share_error = share_error + (gates[g].mean() - r).abs();
      }
      net->set_unit_gates(gates);
      const auto loss = classification_loss(net->forward(data.x.index_select(0, batch)), data.y.index_select(0, batch)) +
                        o.lambda * share_error / double(trainable.size());
      adam.zero_grad();
      loss.backward();
      adam.step();
    }
  }
  net->set_unit_gates({});
  net->train(was_training);
  std::size_t i = 0;
  for (auto& p : net->parameters()) p.requires_grad_(grad_was[i++]);
  std::vector<torch::Tensor> keep(spec.groups.size());
  torch::NoGradGuard no_grad;
  for (std::size_t g = 0; g < scores.size(); ++g) {
    if (!scores[g].defined()) continue;
    keep[g] = bernoulli(torch::sigmoid(scores[g]), rng);
    if (keep[g].sum().item<double>() == 0) keep[g][scores[g].argmax()] = 1.0f;  // a group never vanishes
  }
  return keep;
}

}  // namespace edgesim
