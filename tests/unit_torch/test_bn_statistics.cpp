// BatchNorm statistics as the baselines' code has them. HeteroFL (Diao et al., ICLR 2021) and
// FedRolex evaluate after a `stats` pass: BN statistics re-estimated on training data with
// momentum None (the cumulative average over batches). FjORD (Horváth et al., NeurIPS 2021):
// channels that ordered dropout switches off do not feed their BN running statistics.
// Each rule is checked against statistics computed independently in the test.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/model/gather_cache.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/bn_statistics.hpp"
#include "edgesim/runtime/evaluation.hpp"

using namespace edgesim;

namespace {

// 2 input channels of 4x4 -> conv 3x3 to 4 channels (no bias) -> BN -> ReLU -> pool -> 2 classes.
ModelSpec conv_bn(bool running_stats) {
  ModelSpec spec;
  spec.name = "conv_bn";
  spec.num_classes = 2;
  SpecBuilder b(spec, 2, 4, 4);
  b.conv(b.group("conv", 4), 3, 1, 1, false);
  b.batchnorm(running_stats);
  b.relu();
  b.global_avgpool();
  b.linear(b.group("classes", 2, 1, false));
  return spec;
}

// The BN layer's running mean and variance (its first two buffers).
std::pair<torch::Tensor, torch::Tensor> running_stats(SpecNet& net) {
  const auto buffers = net->buffers();
  return {buffers.at(0).clone(), buffers.at(1).clone()};
}

Experiment vgg_experiment(const std::string& algorithm, std::vector<std::string> more = {}) {
  std::vector<std::string> o = {"data.dataset=synthetic", "data.synthetic_channels=3", "data.synthetic_size=32",
                                "data.train_samples=200", "data.test_samples=60", "data.partition=iid",
                                "devices.count=4", "devices.memory=estimated", "model.name=vgg11",
                                "model.width=0.0625", "model.static_bn=true", "algorithm.bn_stats_samples=64",
                                "algorithm.name=" + algorithm};
  if (algorithm != "fedavg") o.push_back("algorithm.rates=1,0.5");
  o.insert(o.end(), more.begin(), more.end());
  return Experiment::build(load_config(EDGESIM_SOURCE_DIR "/experiments/quickstart.toml", o));
}

}  // namespace

TEST_CASE("HeteroFL's stats pass: BN statistics are the cumulative average over the training batches", "[heterofl][bn_statistics]") {
  torch::manual_seed(11);
  const ModelSpec spec = conv_bn(false);  // static BN, as HeteroFL trains it
  auto trained = build_network(spec);
  const torch::Tensor weights = flatten_weights(*trained);
  const torch::Tensor x = torch::randn({10, 2, 4, 4}) * 2 + 0.5;
  auto net = with_training_statistics(spec, weights, x, 4);  // batches of 4, 4 and 2
  // Independently: each batch's per-channel mean and unbiased variance of the conv output,
  // averaged over the three batches with equal weight (momentum None).
  const auto conv_w = trained->parameters()[0].detach();
  torch::Tensor mean = torch::zeros({4}), var = torch::zeros({4});
  for (std::int64_t b : {0, 4, 8}) {
    const auto y = torch::conv2d(x.narrow(0, b, std::min<std::int64_t>(4, 10 - b)), conv_w, {}, 1, 1);
    mean += y.mean({0, 2, 3}) / 3;
    var += y.transpose(0, 1).reshape({4, -1}).var(1, /*unbiased=*/true) / 3;
  }
  const auto [m, v] = running_stats(net);
  CHECK(torch::allclose(m, mean, 1e-5, 1e-6));
  CHECK(torch::allclose(v, var, 1e-5, 1e-6));
  CHECK(net->buffers().at(2).item<std::int64_t>() == 3);  // batches tracked
  // Evaluation normalises by those statistics: the logits of an eval-mode forward, by hand.
  const auto test = torch::randn({5, 2, 4, 4});
  const auto params = trained->parameters();
  const auto h = torch::relu((torch::conv2d(test, conv_w, {}, 1, 1) - m.view({1, 4, 1, 1})) /
                                 torch::sqrt(v.view({1, 4, 1, 1}) + 1e-5) * params[1].detach().view({1, 4, 1, 1}) +
                             params[2].detach().view({1, 4, 1, 1}));
  const auto logits = torch::linear(h.mean({2, 3}), params[3].detach(), params[4].detach());
  torch::NoGradGuard no_grad;
  CHECK(torch::allclose(net->forward(test), logits, 1e-4, 1e-5));
  // The parameters are the trained ones; only statistics were added.
  CHECK(torch::equal(flatten_weights(*net).narrow(0, 0, spec.parameter_count()), weights));
}

TEST_CASE("HeteroFL's stats pass: training samples seeded by round, all of them when 0", "[heterofl][bn_statistics]") {
  const Experiment e = vgg_experiment("heterofl");
  const Examples a = bn_statistics_sample(e, 1);
  CHECK(a.x.size(0) == 64);
  CHECK(torch::equal(a.x, bn_statistics_sample(e, 1).x));
  CHECK(!torch::equal(a.x, bn_statistics_sample(e, 2).x));
  const Experiment all = vgg_experiment("heterofl", {"algorithm.bn_stats_samples=0"});
  CHECK(torch::equal(bn_statistics_sample(all, 1).x, to_examples(all.train).x));  // iid: every sample is a device's
}

TEST_CASE("HeteroFL evaluates after the stats pass, each width with its own; FedRolex, FedAvg with the model's BN",
          "[heterofl][bn_statistics]") {
  for (const char* name : {"heterofl", "fedrolex", "fedavg"}) {
    for (const char* key : {"auto", "model", "training_pass"}) {
      const Experiment e = vgg_experiment(name, {std::string("algorithm.bn_statistics=") + key});
      auto algorithm = make_algorithm(e);
      torch::manual_seed(5);
      auto net = build_network(e.model);
      const torch::Tensor global = flatten_weights(*net);
      const Examples test = to_examples(e.test);
      GatherCache cache;
      const GlobalEvaluation ev = evaluate_global(e, *algorithm, cache, net, global, 3, test);
      const bool pass = std::string(key) == "training_pass" || (std::string(key) == "auto" && std::string(name) == "heterofl");
      const Examples stats = bn_statistics_sample(e, 3);
      auto expected = [&](const ModelSpec& arch, const torch::Tensor& w) {
        if (pass) {
          auto tracked = with_training_statistics(arch, w, stats.x, e.config.algorithm.batch_size);
          return evaluate(tracked, test.x, test.y);
        }
        auto plain = build_network(arch);
        load_weights(*plain, w);
        return evaluate(plain, test.x, test.y);  // static BN: each test batch's statistics
      };
      INFO(name << " " << key);
      CHECK(ev.whole.loss == expected(e.model, global).loss);
      if (std::string(name) == "fedavg") continue;
      REQUIRE(ev.widths.size() == 1);
      const SubmodelSpec half = algorithm->eval_submodel(e.model, 0.5);
      const auto cut = extract_submodel(global, gather_tensor(gather_index(e.model, half)));
      CHECK(ev.widths[0].test_loss == expected(submodel_architecture(e.model, half), cut).loss);
      // Repeatable: the same round gives the same numbers.
      CHECK(evaluate_global(e, *algorithm, cache, net, global, 3, test).whole.loss == ev.whole.loss);
    }
  }
  // The two rules really differ on this model.
  const Experiment e = vgg_experiment("heterofl");
  auto algorithm = make_algorithm(e);
  const Experiment m = vgg_experiment("heterofl", {"algorithm.bn_statistics=model"});
  auto plain = make_algorithm(m);
  torch::manual_seed(5);
  auto net = build_network(e.model);
  const torch::Tensor global = flatten_weights(*net);
  GatherCache cache;
  const Examples test = to_examples(e.test);
  CHECK(evaluate_global(e, *algorithm, cache, net, global, 1, test).whole.loss !=
        evaluate_global(m, *plain, cache, net, global, 1, test).whole.loss);
}

TEST_CASE("FjORD: channels dropped by ordered dropout leave their BN running statistics untouched", "[fjord][bn_statistics]") {
  torch::manual_seed(13);
  const ModelSpec spec = conv_bn(true);
  auto net = build_network(spec);
  net->train();
  const auto x = torch::randn({6, 2, 4, 4}) + 1.0;
  std::vector<int> units;
  for (const auto& g : spec.groups) units.push_back(g.sliceable ? 2 : g.units);  // width 1/2: channels 0, 1
  net->set_active_units(units);
  net->forward(x);
  const auto [m, v] = running_stats(net);
  // Dropped channels 2, 3: still the initial mean 0 and variance 1 (zeros would have pulled
  // them to 0.9 · 1 + 0.1 · 0).
  CHECK(torch::equal(m.narrow(0, 2, 2), torch::zeros({2})));
  CHECK(torch::equal(v.narrow(0, 2, 2), torch::ones({2})));
  // Kept channels 0, 1: PyTorch's update with momentum 0.1, from the batch computed here.
  const auto y = torch::conv2d(x, net->parameters()[0].detach(), {}, 1, 1).narrow(1, 0, 2);
  CHECK(torch::allclose(m.narrow(0, 0, 2), 0.1 * y.mean({0, 2, 3}), 1e-5, 1e-6));
  CHECK(torch::allclose(v.narrow(0, 0, 2), 0.9 + 0.1 * y.transpose(0, 1).reshape({2, -1}).var(1, true), 1e-5, 1e-6));
  // A full-width step updates every channel.
  net->set_active_units({});
  net->forward(x);
  const auto after = running_stats(net);
  CHECK(!torch::equal(after.first.narrow(0, 2, 2), torch::zeros({2})));
}
