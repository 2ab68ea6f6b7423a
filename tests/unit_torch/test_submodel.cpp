// The submodel engine: extraction builds dense smaller models, scatter/merge puts updates
// back where they came from, and the rolling and prefix rules match the published ones.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <set>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"
#include "model_support.hpp"

using namespace edgesim;
using test::random_submodel;
using test::round_trip;
using test::sample_input;

namespace {

TransformerShape head_dims_shape() {
  TransformerShape t = transformer_preset("tiny", 50, 12);
  t.slice_head_dims = true;
  return t;
}

std::vector<ModelSpec> zoo() {
  return {make_cnn(1, 28, 10, 1.0), make_cnn(3, 32, 10, 0.5), make_vgg(11, 3, 32, 10, 0.25, false),
          make_resnet18(3, 32, 10, 0.125, false), make_resnet18(3, 32, 10, 0.125, true),
          make_transformer_lm(transformer_preset("tiny", 50, 12), 1.0), make_transformer_lm(head_dims_shape(), 1.0)};
}

}  // namespace

TEST_CASE("every zoo model builds with the spec's exact parameter layout", "[submodel]") {
  for (const ModelSpec& s : zoo()) {
    auto net = build_network(s);
    INFO(s.name);
    CHECK(flatten_weights(*net).numel() == s.state_count());
    std::int64_t params = 0;
    for (const auto& p : net->parameters()) params += p.numel();
    CHECK(params == s.parameter_count());
    const auto names = net->named_parameters();
    const auto specs = s.parameters();
    REQUIRE(names.size() == specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) CHECK(names[i].key() == specs[i].name);
    const auto y = net->forward(sample_input(s, 2));
    CHECK(y.size(0) == 2);
    CHECK(y.size(-1) == s.num_classes);
  }
}

TEST_CASE("extract then merge back with no training is the identity", "[submodel]") {
  for (const ModelSpec& s : zoo()) {
    INFO(s.name);
    torch::manual_seed(3);
    const torch::Tensor global = flatten_weights(*build_network(s));
    CoverageAverage avg(global.numel());
    for (std::uint64_t seed : {1, 2}) {
      // The extracted weights load into a dense model of the submodel's architecture and run.
      auto net = round_trip(s, random_submodel(s, 0.5, seed), global, avg);
      CHECK(net->forward(sample_input(s, 2)).size(-1) == s.num_classes);
    }
    CHECK(torch::equal(avg.merged(global), global));
  }
}

TEST_CASE("a prefix submodel holds exactly the leading channels", "[submodel]") {
  const ModelSpec s = make_cnn(1, 28, 10, 1.0);
  torch::manual_seed(4);
  auto full = build_network(s);
  const SubmodelSpec half = prefix_submodel(s, 0.5);
  auto small = build_network(submodel_architecture(s, half));
  load_weights(*small, extract_submodel(flatten_weights(*full), gather_tensor(gather_index(s, half))));
  const auto fw = full->named_parameters(), sw = small->named_parameters();
  CHECK(torch::equal(sw["l0.weight"], fw["l0.weight"].narrow(0, 0, 8)));
  CHECK(torch::equal(sw["l3.weight"], fw["l3.weight"].narrow(0, 0, 16).narrow(1, 0, 8)));
  // fc1 reads conv2's 16 kept channels, each a whole 7x7 plane.
  CHECK(torch::equal(sw["l7.weight"], fw["l7.weight"].narrow(0, 0, 64).view({64, 32, 49}).narrow(1, 0, 16).reshape({64, 784})));
  CHECK(torch::equal(sw["l9.weight"], fw["l9.weight"].narrow(1, 0, 64)));
  CHECK(torch::equal(sw["l9.bias"], fw["l9.bias"]));  // the classes never shrink
}

TEST_CASE("attention sliced per head dimension keeps every head and the same dimensions in each", "[submodel]") {
  const ModelSpec s = make_transformer_lm(head_dims_shape(), 1.0);  // 4 heads of 32 dimensions
  torch::manual_seed(5);
  auto full = build_network(s);
  const SubmodelSpec half = prefix_submodel(s, 0.5);
  const ModelSpec arch = submodel_architecture(s, half);
  auto small = build_network(arch);
  load_weights(*small, extract_submodel(flatten_weights(*full), gather_tensor(gather_index(s, half))));
  const auto fw = full->named_parameters(), sw = small->named_parameters();
  // q/k/v rows: dimensions 0..15 of each of the 4 heads; o columns likewise.
  const auto rows = torch::arange(4).unsqueeze(1) * 32 + torch::arange(16).unsqueeze(0);
  for (const char* p : {"q", "k", "v"}) {
    INFO(p);
    const std::string name = "l4." + std::string(p) + ".weight";
    REQUIRE(sw.contains(name));
    CHECK(torch::equal(sw[name], fw[name].index_select(0, rows.flatten())));
  }
  CHECK(torch::equal(sw["l4.o.weight"], fw["l4.o.weight"].index_select(1, rows.flatten())));
  const auto y = small->forward(sample_input(s, 2));
  CHECK(y.sizes() == std::vector<std::int64_t>{2, 12, 50});
  CHECK(arch.parameter_count() < s.parameter_count());
}

TEST_CASE("a spec that keeps everything is plain FedAvg, bit for bit", "[submodel]") {
  const ModelSpec s = make_cnn(1, 28, 10, 1.0);
  const SubmodelSpec full = full_submodel(s);
  CHECK(keeps_everything(s, full));
  const auto gather = gather_tensor(gather_index(s, full));
  CHECK(torch::equal(gather, torch::arange(s.state_count(), torch::kInt64)));
  torch::manual_seed(5);
  const torch::Tensor global = torch::randn({s.state_count()});
  std::vector<torch::Tensor> updates = {torch::randn_like(global), torch::randn_like(global), torch::randn_like(global)};
  const double w[3] = {120, 7, 33};
  CoverageAverage with_index(global.numel()), without(global.numel());
  auto reference = torch::zeros_like(global, torch::kFloat64);
  for (int i = 0; i < 3; ++i) {
    with_index.add(extract_submodel(updates[i], gather), gather, w[i]);
    without.add(updates[i], torch::Tensor(), w[i]);
    reference += updates[i].to(torch::kFloat64) * w[i];
  }
  reference = (reference / (w[0] + w[1] + w[2])).to(torch::kFloat32);
  CHECK(torch::equal(with_index.merged(global), reference));
  CHECK(torch::equal(without.merged(global), reference));
}

TEST_CASE("coverage counts for overlapping specs; uncovered entries keep their value", "[submodel]") {
  ModelSpec s = make_cnn(1, 28, 10, 1.0);
  const torch::Tensor global = torch::zeros({s.state_count()});
  const SubmodelSpec quarter = prefix_submodel(s, 0.25), half = prefix_submodel(s, 0.5);
  const auto gq = gather_tensor(gather_index(s, quarter)), gh = gather_tensor(gather_index(s, half));
  CoverageAverage avg(global.numel());
  avg.add(torch::full({gq.numel()}, 4.0f), gq, 1.0);
  avg.add(torch::full({gh.numel()}, 1.0f), gh, 1.0);
  const auto cov = avg.coverage();
  // conv1's weight: channels 0-3 covered twice, 4-7 once, 8-15 never (25 weights each).
  const auto conv1 = cov.narrow(0, 0, 16 * 25).view({16, 25});
  CHECK(conv1.narrow(0, 0, 4).eq(2).all().item<bool>());
  CHECK(conv1.narrow(0, 4, 4).eq(1).all().item<bool>());
  CHECK(conv1.narrow(0, 8, 8).eq(0).all().item<bool>());
  const auto merged = avg.merged(global).narrow(0, 0, 16 * 25).view({16, 25});
  CHECK(merged.narrow(0, 0, 4).eq(2.5f).all().item<bool>());
  CHECK(merged.narrow(0, 4, 4).eq(1.0f).all().item<bool>());
  CHECK(merged.narrow(0, 8, 8).eq(0.0f).all().item<bool>());
}

TEST_CASE("FedRolex kept indices follow the published rule", "[submodel][fedrolex]") {
  // roll(arange(C), shift = t mod C)[:ceil(rate·C)], worked by hand.
  struct Case { int units; double rate; int round; std::vector<std::int64_t> kept; };
  const std::vector<Case> cases = {
      {16, 0.25, 0, {0, 1, 2, 3}},   {16, 0.25, 1, {15, 0, 1, 2}},      {16, 0.25, 3, {13, 14, 15, 0}},
      {16, 0.5, 17, {15, 0, 1, 2, 3, 4, 5, 6}}, {32, 0.125, 33, {31, 0, 1, 2}}, {16, 1.0, 5, {11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}},
      {128, 0.0625, 130, {126, 127, 0, 1, 2, 3, 4, 5}},
  };
  for (const auto& c : cases) {
    ModelSpec s = make_cnn(1, 28, 10, 1.0);
    s.groups[1].units = c.units;  // conv1
    const SubmodelSpec sub = rolling_submodel(s, c.rate, c.round);
    INFO("units " << c.units << " rate " << c.rate << " round " << c.round);
    CHECK(sub.kept[1] == c.kept);
    CHECK(sub.kept[0].size() == 1);  // the input channel is not sliceable
  }
}

TEST_CASE("a width-0.5 submodel costs about a quarter of the conv FLOPs and sends less", "[submodel]") {
  const ModelSpec s = make_resnet18(3, 32, 10, 1.0, false);
  const ModelSpec half = submodel_architecture(s, prefix_submodel(s, 0.5));
  CHECK(forward_flops(half) / forward_flops(s) == Approx(0.25).epsilon(0.02));
  CHECK(double(model_bytes(half)) / model_bytes(s) == Approx(0.25).epsilon(0.02));
  CHECK(training_memory(half, 32, true).activations * 2 ==
        Approx(double(training_memory(s, 32, true).activations)).epsilon(0.01));
}

TEST_CASE("the BERT-base preset has BERT-base's size", "[zoo]") {
  const ModelSpec bert = make_transformer_lm(transformer_preset("bert-base", 30522, 128), 1.0);
  CHECK(bert.parameter_count() == Approx(110e6).epsilon(0.02));
}
