// Co-S²P's rules (Li et al., arXiv 2410.08457, as the authors' public code applies them):
// cross-block knowledge transfer towards the deepest exit, and staleness-aware weights.
#include <catch2/catch.hpp>
#include <cmath>

#include "edgesim/algo/co_s2p.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/runtime/task.hpp"
#include "edgesim/trainer/co_s2p_loss.hpp"
#include "edgesim/trainer/unit_masks.hpp"

using namespace edgesim;

namespace {
double softmax_at(const std::vector<double>& z, std::size_t k, double t) {
  double s = 0;
  for (double v : z) s += std::exp(v / t);
  return std::exp(z[k] / t) / s;
}
double ce(const std::vector<double>& z, std::size_t y) { return -std::log(softmax_at(z, y, 1.0)); }
double kl(const std::vector<double>& teacher, const std::vector<double>& student, double t) {
  double s = 0;
  for (std::size_t k = 0; k < teacher.size(); ++k) {
    const double p = softmax_at(teacher, k, t), q = softmax_at(student, k, t);
    s += p * std::log(p / q);
  }
  return s;
}
}  // namespace

TEST_CASE("Co-S2P cross-block transfer: CE of every exit plus gamma T^2 KL from the deepest, worked by hand",
          "[co_s2p]") {
  const std::vector<double> z1 = {0.5, -1.0, 2.0}, z2 = {1.5, 0.2, -0.3}, z3 = {2.0, 0.1, 0.4};
  const std::size_t y = 0;
  const double gamma = 0.5, t = 3.0;
  auto tensor = [](const std::vector<double>& z) {
    return torch::tensor(std::vector<float>(z.begin(), z.end())).reshape({1, 3}).requires_grad_(true);
  };
  std::vector<torch::Tensor> logits = {tensor(z1), tensor(z2), tensor(z3)};
  const torch::Tensor target = torch::tensor({std::int64_t(y)});
  const double by_hand =
      ce(z3, y) + ce(z1, y) + ce(z2, y) + gamma * t * t * (kl(z3, z1, t) + kl(z3, z2, t));
  const torch::Tensor loss = cross_block_distillation_loss(logits, target, gamma, t, true);
  CHECK(loss.item<double>() == Approx(by_hand).epsilon(1e-5));
  // Before distillation is switched on: the exits' cross-entropies alone.
  CHECK(cross_block_distillation_loss(logits, target, gamma, t, false).item<double>() ==
        Approx(ce(z1, y) + ce(z2, y) + ce(z3, y)).epsilon(1e-5));
  // The deepest exit is the teacher: the KL terms send it no gradient, so its gradient is CE's.
  loss.backward();
  const torch::Tensor ce_only_grad = [&] {
    torch::Tensor z = tensor(z3);
    torch::nn::functional::cross_entropy(z, target).backward();
    return z.grad();
  }();
  CHECK(torch::allclose(logits[2].grad(), ce_only_grad, 1e-5, 1e-6));
  CHECK(logits[0].grad().abs().sum().item<double>() > 0);
}

TEST_CASE("Co-S2P staleness-aware weights: (|delta|_1 / r) / (|w_now - w_received|_1 + 1), normalised", "[co_s2p]") {
  // Update a: |Δ| 4 at rate 0.5, fresh (drift 0) -> 8; b: |Δ| 3 at rate 0.25, drift 2 -> 12/3 = 4;
  // c: |Δ| 6 at rate 1, drift 5 -> 1. Sum 13.
  const auto w = staleness_aware_weights({4, 3, 6}, {0.5, 0.25, 1.0}, {0, 2, 5});
  REQUIRE(w.size() == 3);
  CHECK(w[0] == Approx(8.0 / 13));
  CHECK(w[1] == Approx(4.0 / 13));
  CHECK(w[2] == Approx(1.0 / 13));
  // All-zero deltas: uniform rather than 0/0.
  const auto u = staleness_aware_weights({0, 0}, {1, 0.5}, {1, 1});
  CHECK(u[0] == Approx(0.5));
  CHECK_THROWS(staleness_aware_weights({1}, {0}, {0}));
}

TEST_CASE("Co-S2P's server step: zero-padded deltas, weighted by the staleness-aware rule, worked by hand",
          "[co_s2p]") {
  // A 4-entry model: entries 0-2 parameters, entry 3 a buffer (in the step, not in the norms).
  torch::Tensor global = torch::tensor({1.0f, 2.0f, 3.0f, 10.0f});
  const torch::Tensor old = torch::tensor({1.0f, 1.0f, 3.0f, 10.0f});  // drift |w - old|_1 = 1
  TaskResult a, b;
  // a: the whole model, received now: delta (1, 0, -1, 2), |delta|_1 over parameters 2, rate 1.
  a.start_model = global.clone(), a.rate = 1.0;
  a.weights = torch::tensor({2.0f, 2.0f, 2.0f, 12.0f});
  // b: entries {0, 2} of the old model at rate 0.5: delta (0.5, -, 1, -), |delta|_1 1.5.
  b.start_model = old, b.rate = 0.5, b.gather = torch::tensor({0, 2}, torch::kLong);
  b.weights = torch::tensor({1.5f, 4.0f});
  // gamma_a ∝ (2 / 1) / (0 + 1) = 2, gamma_b ∝ (1.5 / 0.5) / (1 + 1) = 1.5: 4/7 and 3/7.
  const auto gamma = co_s2p_aggregate(global, {&a, &b}, 3);
  REQUIRE(gamma.size() == 2);
  CHECK(gamma[0] == Approx(4.0 / 7));
  CHECK(gamma[1] == Approx(3.0 / 7));
  // w + 4/7 (1, 0, -1, 2) + 3/7 (0.5, 0, 1, 0)
  const std::vector<double> expect = {1 + 4.0 / 7 + 1.5 / 7, 2, 3 - 4.0 / 7 + 3.0 / 7, 10 + 8.0 / 7};
  for (int i = 0; i < 4; ++i) CHECK(global[i].item<double>() == Approx(expect[i]).epsilon(1e-6));
}

TEST_CASE("Co-S2P's depth rule: the first floor(r·B) blocks, down to a block that ends with a classifier",
          "[co_s2p]") {
  // The authors' ViT: 12 blocks, exits after 3, 6 and 9 (12 is the model's own head).
  VitShape shape = vit_preset("vit-tiny");
  shape.blocks = 12;
  ModelSpec vit = make_vit(shape, 3, 32, 10, 1.0);
  add_early_exits(vit, {3, 6, 9});
  CHECK(co_s2p_depth(vit, 1.0) == 12);
  CHECK(co_s2p_depth(vit, 0.5) == 6);   // the authors' AGX / NX-16GB
  CHECK(co_s2p_depth(vit, 0.25) == 3);  // NX-8GB
  CHECK(co_s2p_depth(vit, 0.7) == 6);   // floor(8.4) = 8: no exit there, down to 6
  CHECK(co_s2p_depth(vit, 0.1) == 3);   // below the first exit: the first exit still
  CHECK(co_s2p_depth(vit, 0.99) == 9);
}

TEST_CASE("Co-S2P's mask learning keeps about r of every group's units, leaves the weights alone, and repeats",
          "[co_s2p][masks]") {
  torch::manual_seed(3);
  const ModelSpec vit = make_vit(vit_preset("vit-tiny"), 3, 32, 10, 1.0);
  auto net = build_network(vit);
  const torch::Tensor before = flatten_weights(*net);
  Examples data{torch::randn({96, 3, 32, 32}), torch::randint(0, 10, {96}, torch::kLong)};
  UnitMaskOptions options;
  options.rate = 0.5, options.epochs = 3;
  Rng rng(7, Purpose::kMask, 2, 1);
  const auto keep = learn_unit_masks(net, data, options, rng);
  REQUIRE(keep.size() == vit.groups.size());
  double kept = 0, units = 0;
  for (std::size_t g = 0; g < vit.groups.size(); ++g) {
    if (!vit.groups[g].sliceable) {
      CHECK_FALSE(keep[g].defined());
      continue;
    }
    REQUIRE(keep[g].numel() == vit.groups[g].units);
    const double k = keep[g].sum().item<double>();
    CHECK(k >= 1);  // no group vanishes
    if (vit.groups[g].units >= 64) CHECK(std::abs(k / vit.groups[g].units - 0.5) < 0.15);  // MLP units
    kept += k, units += vit.groups[g].units;
  }
  CHECK(std::abs(kept / units - 0.5) < 0.1);
  CHECK(torch::equal(flatten_weights(*net), before));  // frozen
  auto again = build_network(vit);
  load_weights(*again, before);
  Rng same(7, Purpose::kMask, 2, 1);
  const auto repeat = learn_unit_masks(again, data, options, same);
  for (std::size_t g = 0; g < keep.size(); ++g)
    if (keep[g].defined()) CHECK(torch::equal(repeat[g], keep[g]));
}
