// AdaptCL's channel importance: BatchNorm |γ| or filter L2 norms read from the flat global
// weights, and the submodel that keeps the most important channels of every layer.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "edgesim/common/rng.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/importance.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/runtime/local_training.hpp"

using namespace edgesim;

namespace {

// The network's parameter called `name` ("<layer>.weight", ...).
torch::Tensor parameter(SpecNet& net, const std::string& name) {
  for (const auto& p : net->named_parameters())
    if (p.key() == name) return p.value();
  FAIL("no parameter " << name);
  return {};
}

std::string layer_producing(const ModelSpec& s, int group, LayerKind kind) {
  for (const auto& l : s.layers)
    if (l.kind == kind && l.out_group == group) return l.name;
  return {};
}

}  // namespace

TEST_CASE("importance: filter L2 norms are the norms of each unit's producing rows", "[importance]") {
  torch::manual_seed(3);
  const ModelSpec s = make_cnn(1, 28, 10, 1.0);
  auto net = build_network(s);
  const auto imp = unit_importance(s, flatten_weights(*net), ImportanceCriterion::kFilterNorm);
  for (std::size_t g = 0; g < s.groups.size(); ++g) {
    INFO(s.groups[g].name);
    if (!s.groups[g].sliceable) {
      CHECK(imp[g].empty());
      continue;
    }
    std::string layer = layer_producing(s, static_cast<int>(g), LayerKind::kConv2d);
    if (layer.empty()) layer = layer_producing(s, static_cast<int>(g), LayerKind::kLinear);
    const auto w = parameter(net, layer + ".weight").detach().to(torch::kFloat64);
    const auto expected = w.reshape({w.size(0), -1}).norm(2, 1);
    REQUIRE(imp[g].size() == static_cast<std::size_t>(s.groups[g].units));
    for (std::size_t u = 0; u < imp[g].size(); ++u) CHECK(imp[g][u] == Approx(expected[u].item<double>()));
  }
}

TEST_CASE("importance: BatchNorm scales rank a VGG's channels; the submodel keeps the top ones", "[importance]") {
  const ModelSpec s = make_vgg(11, 3, 32, 10, 0.125, false);
  auto net = build_network(s);
  const int g = 1;  // the first conv group
  REQUIRE(s.groups[g].sliceable);
  const std::string bn = layer_producing(s, g, LayerKind::kBatchNorm2d);
  REQUIRE(!bn.empty());
  const int C = s.groups[g].units;
  {
    torch::NoGradGuard no_grad;
    // |γ_u| = (7u mod C) + 1, a permutation of 1..C, with alternating signs (importance is |γ|).
    auto gamma = parameter(net, bn + ".weight");
    for (int u = 0; u < C; ++u) gamma[u] = ((u % 2) ? -1.0 : 1.0) * ((u * 7) % C + 1);
  }
  const auto flat = flatten_weights(*net);
  const auto imp = unit_importance(s, flat, ImportanceCriterion::kBatchNormScale);
  for (int u = 0; u < C; ++u) CHECK(imp[g][u] == (u * 7) % C + 1);

  const SubmodelSpec half = importance_submodel(s, imp, 0.5);
  CHECK(half.rate == 0.5);
  REQUIRE(half.kept[g].size() == static_cast<std::size_t>(kept_units(C, 0.5)));
  for (std::size_t j = 1; j < half.kept[g].size(); ++j) CHECK(half.kept[g][j - 1] < half.kept[g][j]);
  for (auto u : half.kept[g]) CHECK((u * 7) % C + 1 > C - static_cast<int>(half.kept[g].size()));
  // Non-sliceable groups (image channels, classes) are kept whole.
  for (std::size_t h = 0; h < s.groups.size(); ++h)
    if (!s.groups[h].sliceable) CHECK(half.kept[h].size() == static_cast<std::size_t>(s.groups[h].units));
  // Rate 1 keeps everything; the pruned submodel builds and runs as a dense model.
  CHECK(keeps_everything(s, importance_submodel(s, imp, 1.0)));
  auto small = build_network(submodel_architecture(s, half));
  load_weights(*small, extract_submodel(flat, gather_tensor(gather_index(s, half))));
  CHECK(small->forward(torch::randn({2, 3, 32, 32})).sizes() == std::vector<std::int64_t>{2, 10});
}

TEST_CASE("importance: ResNet and Transformer groups get a score per unit", "[importance]") {
  for (const ModelSpec& s : {make_resnet18(3, 32, 10, 0.125, false),
                             make_transformer_lm(transformer_preset("tiny", 50, 12), 1.0)}) {
    auto net = build_network(s);
    for (auto c : {ImportanceCriterion::kBatchNormScale, ImportanceCriterion::kFilterNorm}) {
      const auto imp = unit_importance(s, flatten_weights(*net), c);
      for (std::size_t g = 0; g < s.groups.size(); ++g) {
        INFO(s.name << " " << s.groups[g].name);
        if (!s.groups[g].sliceable) continue;
        REQUIRE(imp[g].size() == static_cast<std::size_t>(s.groups[g].units));
        for (double v : imp[g]) CHECK(v > 0);
      }
    }
  }
}

TEST_CASE("Network Slimming's L1 penalty shrinks BatchNorm scales during local training", "[importance]") {
  const ModelSpec s = make_vgg(11, 3, 32, 10, 0.125, false);
  torch::manual_seed(1);
  const auto x = torch::randn({64, 3, 32, 32});
  const auto y = torch::randint(0, 10, {64}, torch::kInt64);
  auto sum_gamma = [&](double l1) {
    torch::manual_seed(2);
    auto net = build_network(s);
    LocalRecipe r;
    r.epochs = 3, r.batch_size = 16, r.lr = 0.05, r.momentum = 0.0, r.bn_gamma_l1 = l1;
    Rng rng(1, Purpose::kShuffle, 0, 1);
    train_locally(net, x, y, r, rng);
    double total = 0;
    for (const auto& g : net->batchnorm_scales()) total += g.abs().sum().item<double>();
    return total;
  };
  const double plain = sum_gamma(0.0), penalised = sum_gamma(0.5);
  CHECK(penalised < 0.8 * plain);  // 12 steps of lr·λ = 0.025 each: about -30%
}
