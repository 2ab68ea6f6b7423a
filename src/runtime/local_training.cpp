#include "edgesim/runtime/local_training.hpp"

#include <algorithm>
#include <numeric>

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

namespace {

// Window k's inputs (offset 0) or targets (offset 1): tokens [start + offset, + seq_len).
torch::Tensor window_tensor(const TokenWindows& w, const std::vector<std::int64_t>& indices, int offset) {
  auto out = torch::empty({static_cast<std::int64_t>(indices.size()), w.seq_len}, torch::kInt64);
  auto* dst = out.data_ptr<std::int64_t>();
  for (std::int64_t k : indices) {
    const std::int32_t* src = w.tokens.data() + w.starts.at(k) + offset;
    dst = std::copy(src, src + w.seq_len, dst);
  }
  return out;
}

}  // namespace

Examples to_examples(const SampleSet& set, const std::vector<std::int64_t>& indices) {
  if (set.text) return {window_tensor(set.windows, indices, 0), window_tensor(set.windows, indices, 1)};
  return {images_to_tensor(set.images, indices), labels_to_tensor(set.images, indices)};
}

Examples to_examples(const SampleSet& set) {
  std::vector<std::int64_t> all(static_cast<std::size_t>(set.size()));
  std::iota(all.begin(), all.end(), 0);
  return to_examples(set, all);
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
        for (const auto& g : bn_scales)
          if (g.grad().defined()) g.mutable_grad().add_(g.sign(), r.bn_gamma_l1);  // frozen: none
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

torch::Tensor contrastive_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                               double tau) {
  const auto pos = torch::cosine_similarity(z, positive, 1) / tau, neg = torch::cosine_similarity(z, negative, 1) / tau;
  return -(pos - torch::logsumexp(torch::stack({pos, neg}, 1), 1)).mean();
}

Evaluation evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y) {
  return evaluate(net, x, y, [&](const torch::Tensor& xb) { return net->forward(xb); });
}

Evaluation evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y, const Predict& predict) {
  torch::NoGradGuard no_grad;
  net->eval();
  // At most 1000 samples, and few enough that a batch's logits stay near 64 MiB (a
  // language model has seq_len x vocabulary of them per sample).
  const std::int64_t n = x.size(0), positions = y.dim() > 1 ? y.size(1) : 1;
  const std::int64_t logits_per_sample = positions * net->spec().num_classes;
  const std::int64_t batch = std::clamp<std::int64_t>((std::int64_t(1) << 24) / logits_per_sample, 1, 1000);
  double loss_sum = 0;
  std::int64_t correct = 0;
  for (std::int64_t b = 0; b < n; b += batch) {
    const std::int64_t m = std::min(batch, n - b);
    const auto logits = predict(x.narrow(0, b, m));
    const auto yb = y.narrow(0, b, m);
    loss_sum += classification_loss(logits, yb, torch::Reduction::Sum).item<double>();
    correct += logits.argmax(-1).eq(yb).sum().item<std::int64_t>();
  }
  // Language models: per predicted token (accuracy = next-token accuracy, loss = log perplexity).
  const double count = double(n) * double(positions);
  return {n ? correct / count : 0.0, n ? loss_sum / count : 0.0};
}

}  // namespace edgesim
