#pragma once
// Plain LibTorch SGD on one device's data, and evaluation. No simulation here: this is the
// real work the simulator times.
#include <torch/torch.h>

#include <functional>

#include "edgesim/common/rng.hpp"
#include "edgesim/data/dataset.hpp"
#include "edgesim/model/network.hpp"

namespace edgesim {

struct LocalRecipe {
  int epochs = 1, batch_size = 32;
  double lr = 0.05, momentum = 0.9, weight_decay = 0.0;
  // Network Slimming (Liu et al. 2017): the subgradient λ·sign(γ) of λ·Σ|γ| is added to every
  // BatchNorm scale's gradient, so unimportant channels' γ shrink toward zero.
  double bn_gamma_l1 = 0.0;
};

struct LocalResult {
  double mean_loss = 0;
  std::int64_t samples = 0;
};

// Model inputs x and targets y of some samples of a set, whatever kind they are: images as
// float [n, c, h, w] normalised per channel with the set's mean and stddev, labels int64 [n];
// token windows as int64 [n, seq_len] inputs and next-token targets.
struct Examples {
  torch::Tensor x, y;
};
Examples to_examples(const SampleSet& set, const std::vector<std::int64_t>& indices);
Examples to_examples(const SampleSet& set);  // every sample, in order

torch::Tensor images_to_tensor(const ImageSet& set, const std::vector<std::int64_t>& indices);
torch::Tensor labels_to_tensor(const ImageSet& set, const std::vector<std::int64_t>& indices);

// Called before every step with the step's batch size; may reconfigure the network (FjORD's
// per-step width).
using StepHook = std::function<void(std::int64_t batch)>;

// The loss of one step on a batch; empty = classification_loss(net->forward(x), y).
using StepLoss = std::function<torch::Tensor(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y)>;

// Fresh SGD optimizer (momentum state starts at zero), `epochs` passes over (x, y) in an
// order drawn from `rng`, last partial batch included.
LocalResult train_locally(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y,
                          const LocalRecipe& recipe, Rng& rng, const StepHook& before_step = {},
                          const StepLoss& step_loss = {});

// KL(teacher ‖ student) over the last dimension (classes, or vocabulary per position),
// averaged over the rest; the teacher's logits are not differentiated.
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits);

// MOON's model-contrastive term (Li et al., CVPR 2021), averaged over the batch:
// −log(e^{cos(z, z⁺)/τ} / (e^{cos(z, z⁺)/τ} + e^{cos(z, z⁻)/τ})) for representations [n, d].
torch::Tensor contrastive_loss(const torch::Tensor& z, const torch::Tensor& positive, const torch::Tensor& negative,
                               double tau);

struct Evaluation {
  double accuracy = 0, loss = 0;
};
Evaluation evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y);
// The same with the logits `predict` gives for a batch (DepthFL's exit average).
using Predict = std::function<torch::Tensor(const torch::Tensor& x)>;
Evaluation evaluate(SpecNet& net, const torch::Tensor& x, const torch::Tensor& y, const Predict& predict);

}  // namespace edgesim
