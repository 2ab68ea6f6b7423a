#include "edgesim/runtime/local_training.hpp"

namespace edgesim {

torch::Tensor images_to_tensor(const ImageSet& set, const std::vector<std::int64_t>& indices) {
  const std::int64_t per = std::int64_t(set.channels) * set.rows * set.cols;
  auto out = torch::empty({static_cast<std::int64_t>(indices.size()), set.channels, set.rows, set.cols});
  float* dst = out.data_ptr<float>();
  const std::int64_t plane = std::int64_t(set.rows) * set.cols;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::uint8_t* src = set.pixels.data() + indices[i] * per;
    for (std::int64_t j = 0; j < per; ++j) {
      const std::size_t c = static_cast<std::size_t>(j / plane);
      dst[i * per + j] = (src[j] / 255.0f - set.mean.at(c)) / set.stddev.at(c);
    }
  }
  return out;
}

torch::Tensor labels_to_tensor(const ImageSet& set, const std::vector<std::int64_t>& indices) {
  auto out = torch::empty({static_cast<std::int64_t>(indices.size())}, torch::kInt64);
  auto* dst = out.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < indices.size(); ++i) dst[i] = set.labels[indices[i]];
  return out;
}

std::vector<std::int64_t> all_indices(const ImageSet& set) {
  std::vector<std::int64_t> idx(set.count);
  for (std::int64_t i = 0; i < set.count; ++i) idx[i] = i;
  return idx;
}

LocalResult train_locally(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y,
                          const LocalRecipe& r, Rng& rng, const StepHook& before_step, const StepLoss& step_loss) {
  net->train();
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(r.lr).momentum(r.momentum).weight_decay(r.weight_decay));
  const std::int64_t n = x.size(0);
  const std::vector<torch::Tensor> bn_scales = r.bn_gamma_l1 > 0 ? net->batchnorm_scales() : std::vector<torch::Tensor>{};
  std::vector<std::int64_t> order(n);
  double loss_sum = 0;
  LocalResult result;
  for (int epoch = 0; epoch < r.epochs; ++epoch) {
    for (std::int64_t i = 0; i < n; ++i) order[i] = i;
    rng.shuffle(order);
    const auto perm = torch::from_blob(order.data(), {n}, torch::kInt64);
    for (std::int64_t b = 0; b < n; b += r.batch_size) {
      const auto idx = perm.narrow(0, b, std::min<std::int64_t>(r.batch_size, n - b));
      const auto xb = x.index_select(0, idx), yb = y.index_select(0, idx);
      if (before_step) before_step(idx.size(0));
      opt.zero_grad();
      auto loss = step_loss ? step_loss(net, xb, yb) : classification_loss(net->forward(xb), yb);
      loss.backward();
      {
        torch::NoGradGuard no_grad;
        for (const auto& g : bn_scales) g.mutable_grad().add_(g.sign(), r.bn_gamma_l1);
      }
      opt.step();
      loss_sum += loss.item<double>() * idx.size(0);
      result.samples += idx.size(0);
    }
  }
  result.mean_loss = result.samples ? loss_sum / result.samples : 0.0;
  return result;
}

torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits) {
  const auto teacher = torch::log_softmax(teacher_logits.detach(), -1);
  const auto student = torch::log_softmax(student_logits, -1);
  return (teacher.exp() * (teacher - student)).sum(-1).mean();
}

Evaluation evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y) {
  torch::NoGradGuard no_grad;
  net->eval();
  const std::int64_t n = x.size(0), batch = 1000;
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::int64_t b = 0; b < n; b += batch) {
    const std::int64_t m = std::min(batch, n - b);
    const auto logits = net->forward(x.narrow(0, b, m));
    const auto yb = y.narrow(0, b, m);
    loss_sum += classification_loss(logits, yb, torch::Reduction::Sum).item<double>();
    correct += logits.argmax(-1).eq(yb).sum().item<std::int64_t>();
  }
  // Language models: per predicted token (accuracy = next-token accuracy, loss = log perplexity).
  const double count = double(n) * (y.dim() > 1 ? y.size(1) : 1);
  return {n ? correct / count : 0.0, n ? loss_sum / count : 0.0};
}

}  // namespace edgesim
