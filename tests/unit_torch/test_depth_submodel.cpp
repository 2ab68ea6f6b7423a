// Submodels in depth: blocks kept, the last one's early-exit head as classifier, composed with
// width slicing. Extraction, scatter and coverage averaging go through the gather index exactly
// as for width; the cost model sees the truncated model.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"
#include "model_support.hpp"

using namespace edgesim;
using test::random_submodel;
using test::round_trip;
using test::sample_input;

namespace {

ModelSpec with_exits(ModelSpec s) {
  add_early_exits(s);
  return s;
}

std::vector<ModelSpec> zoo_with_exits() {
  return {with_exits(make_cnn(1, 28, 10, 1.0)), with_exits(make_vgg(11, 3, 32, 10, 0.25, false)),
          with_exits(make_resnet18(3, 32, 10, 0.125, false)), with_exits(make_resnet18(3, 32, 10, 0.125, true)),
          with_exits(make_transformer_lm(transformer_preset("tiny", 50, 12), 1.0))};
}

int blocks(const ModelSpec& s) { return static_cast<int>(s.blocks.size()); }

SubmodelSpec at_depth(SubmodelSpec sub, int depth) {
  sub.depth = depth;
  return sub;
}

// The entries of one named tensor (parameter or buffer) of the flat weights of `s`.
torch::Tensor tensor_of(const ModelSpec& s, const torch::Tensor& flat, const std::string& name) {
  std::int64_t offset = 0;
  for (const auto& list : {s.parameters(), s.buffers()}) {
    for (const auto& p : list) {
      std::int64_t size = 1;
      for (const auto& d : p.dims) size *= s.extent(d);
      if (p.name == name) return flat.narrow(0, offset, size);
      offset += size;
    }
  }
  FAIL("no tensor " << name);
  return {};
}

std::int64_t exit_parameters(const ModelSpec& s) {
  std::int64_t n = 0;
  for (const auto& p : s.parameters()) {
    if (p.layer <= s.output()) continue;
    std::int64_t size = 1;
    for (const auto& d : p.dims) size *= s.extent(d);
    n += size;
  }
  return n;
}

}  // namespace

TEST_CASE("zoo models declare blocks, and exit heads are real parameters after the model's own", "[submodel][depth]") {
  CHECK(blocks(make_cnn(1, 28, 10, 1.0)) == 3);
  CHECK(blocks(make_vgg(11, 3, 32, 10, 1.0, false)) == 5);
  CHECK(blocks(make_vgg(16, 3, 32, 10, 1.0, false)) == 5);
  CHECK(blocks(make_resnet18(3, 32, 10, 1.0, false)) == 8);
  CHECK(blocks(make_transformer_lm(transformer_preset("small", 50, 12), 1.0)) == 4);
  for (const ModelSpec& s : zoo_with_exits()) {
    INFO(s.name);
    REQUIRE(s.has_exits());
    for (int k = 0; k < blocks(s); ++k) CHECK(s.blocks[k].has_exit() == (k + 1 < blocks(s)));
    auto net = build_network(s);
    CHECK(flatten_weights(*net).numel() == s.state_count());
    const auto names = net->named_parameters();
    const auto specs = s.parameters();
    REQUIRE(names.size() == specs.size());
    for (std::size_t i = 0; i < specs.size(); ++i) CHECK(names[i].key() == specs[i].name);
    net->eval();
    const auto x = sample_input(s, 2);
    const auto exits = net->forward_exits(x);
    REQUIRE(exits.size() == s.blocks.size());  // B - 1 exit heads, then the model's own classifier
    for (const auto& logits : exits) {
      CHECK(logits.size(0) == 2);
      CHECK(logits.size(-1) == s.num_classes);
    }
    CHECK(torch::equal(exits.back(), net->forward(x)));
  }
  // The forward pass runs no exit head: the FLOPs are the model's without exits.
  const ModelSpec plain = make_resnet18(3, 32, 10, 1.0, false);
  CHECK(forward_flops(with_exits(plain)) == forward_flops(plain));
  CHECK(with_exits(plain).parameter_count() == plain.parameter_count() + 7 * 10 + 10 * (2 * 64 + 2 * 128 + 2 * 256 + 512));
}

TEST_CASE("depth and width+depth: extract then merge back with no training is the identity", "[submodel][depth]") {
  for (const ModelSpec& s : zoo_with_exits()) {
    torch::manual_seed(3);
    const torch::Tensor global = flatten_weights(*build_network(s));
    CoverageAverage avg(global.numel());
    for (int depth = 1; depth <= blocks(s); ++depth) {
      for (double rate : {1.0, 0.5}) {
        INFO(s.name << " depth " << depth << " width " << rate);
        const SubmodelSpec sub = at_depth(random_submodel(s, rate, 10 + depth), depth);
        const ModelSpec arch = submodel_architecture(s, sub);
        CHECK(static_cast<int>(arch.blocks.size()) == depth);
        CHECK_FALSE(arch.has_exits());
        auto net = round_trip(s, sub, global, avg);
        const auto y = net->forward(sample_input(s, 3));
        CHECK(y.size(0) == 3);
        CHECK(y.size(-1) == s.num_classes);
        if (!s.token_input) CHECK(y.dim() == 2);  // [batch, classes]
      }
    }
    CHECK(torch::equal(avg.merged(global), global));
  }
}

TEST_CASE("a depth submodel computes what the global model's exit computes", "[submodel][depth]") {
  for (const ModelSpec& s : zoo_with_exits()) {
    torch::manual_seed(7);
    auto full = build_network(s);
    full->eval();
    const torch::Tensor global = flatten_weights(*full);
    const auto x = sample_input(s, 4);
    const auto exits = full->forward_exits(x);
    for (int depth = 1; depth <= blocks(s); ++depth) {
      INFO(s.name << " depth " << depth);
      const SubmodelSpec sub = at_depth(full_submodel(s), depth);
      auto net = build_network(submodel_architecture(s, sub));
      load_weights(*net, extract_submodel(global, gather_tensor(gather_index(s, sub))));
      net->eval();
      CHECK(torch::allclose(net->forward(x), exits[depth - 1], 1e-5, 1e-6));
    }
  }
}

TEST_CASE("a spec that keeps everything equals the full model", "[submodel][depth]") {
  const ModelSpec plain = make_cnn(1, 28, 10, 1.0), exits = with_exits(plain);
  // Depth -1 (the default) keeps the whole model, exit heads included; on a model without exit
  // heads, keeping every block is the same.
  for (const SubmodelSpec& sub : {full_submodel(exits)}) {
    CHECK(keeps_everything(exits, sub));
    CHECK(torch::equal(gather_tensor(gather_index(exits, sub)), torch::arange(exits.state_count(), torch::kInt64)));
  }
  const SubmodelSpec all_blocks = at_depth(full_submodel(plain), blocks(plain));
  CHECK(keeps_everything(plain, all_blocks));
  CHECK(torch::equal(gather_tensor(gather_index(plain, all_blocks)), torch::arange(plain.state_count(), torch::kInt64)));
  CHECK(submodel_architecture(plain, all_blocks).layers.size() == plain.layers.size());
  // Every block of a model with exits: its own classifier, no exit head.
  const SubmodelSpec deepest = at_depth(full_submodel(exits), blocks(exits));
  CHECK_FALSE(keeps_everything(exits, deepest));
  const ModelSpec arch = submodel_architecture(exits, deepest);
  CHECK(arch.state_count() == plain.state_count());
  CHECK(arch.state_count() == exits.state_count() - exit_parameters(exits));
  CHECK(forward_flops(arch) == forward_flops(plain));
  CHECK(torch::equal(gather_tensor(gather_index(exits, deepest)), torch::arange(plain.state_count(), torch::kInt64)));
}

TEST_CASE("cutting in depth needs an exit head, and out-of-range depths are refused", "[submodel][depth]") {
  const ModelSpec plain = make_cnn(1, 28, 10, 1.0);
  auto message = [&](const ModelSpec& s, int depth) -> std::string {
    try {
      submodel_architecture(s, at_depth(full_submodel(s), depth));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK_THAT(message(plain, 2), Catch::Contains("ends with block 2's early-exit head") &&
                                    Catch::Contains("set model.early_exits = true"));
  CHECK_THAT(message(plain, 0), Catch::Contains("depth 0 out of range: model cnn has 3 blocks"));
  CHECK_THAT(message(with_exits(plain), 4), Catch::Contains("depth 4 out of range"));
  CHECK(message(with_exits(plain), 2).empty());
  CHECK_THROWS_AS(gather_index(plain, at_depth(full_submodel(plain), 1)), std::invalid_argument);
}

TEST_CASE("coverage: shallow devices leave deep blocks less covered, exit heads only by their users",
          "[submodel][depth]") {
  // CNN blocks: conv1 stage, conv2 stage, fc1; then the classifier l9; exit heads after
  // blocks 1 (l11) and 2 (l13).
  const ModelSpec s = with_exits(make_cnn(1, 28, 10, 1.0));
  const torch::Tensor global = torch::zeros({s.state_count()});
  CoverageAverage avg(global.numel());
  const SubmodelSpec devices[] = {
      at_depth(full_submodel(s), 1), at_depth(full_submodel(s), 2), at_depth(full_submodel(s), 3),
      scaled_submodel(s, 0.25, Slicing::kWidthAndDepth),  // 4 of conv1's 16 channels, depth 1
  };
  CHECK(devices[3].depth == 1);
  for (const auto& sub : devices) {
    const auto gather = gather_tensor(gather_index(s, sub));
    avg.add(torch::ones({gather.numel()}), gather, 1.0);
  }
  const auto cov = avg.coverage();
  auto covered = [&](const std::string& name) { return tensor_of(s, cov, name); };
  const auto conv1 = covered("l0.weight").view({16, 25});
  CHECK(conv1.narrow(0, 0, 4).eq(4).all().item<bool>());
  CHECK(conv1.narrow(0, 4, 12).eq(3).all().item<bool>());
  CHECK(covered("l3.weight").eq(2).all().item<bool>());  // conv2: devices of depth 2 and 3
  CHECK(covered("l7.weight").eq(1).all().item<bool>());  // fc1: depth 3 only
  CHECK(covered("l9.weight").eq(1).all().item<bool>());  // the model's classifier
  const auto exit1 = covered("l11.weight").view({10, 16});  // exit after block 1: its two users
  CHECK(exit1.narrow(1, 0, 4).eq(2).all().item<bool>());
  CHECK(exit1.narrow(1, 4, 12).eq(1).all().item<bool>());
  CHECK(covered("l13.weight").eq(1).all().item<bool>());  // exit after block 2: the depth-2 device
  CHECK(covered("l13.bias").eq(1).all().item<bool>());

  // Without a depth-2 device, the exit after block 2 keeps its value.
  CoverageAverage shallow_and_full(global.numel());
  for (int depth : {1, 3}) {
    const auto gather = gather_tensor(gather_index(s, at_depth(full_submodel(s), depth)));
    shallow_and_full.add(torch::full({gather.numel()}, 5.0f), gather, 1.0);
  }
  const auto merged = shallow_and_full.merged(global);
  CHECK(tensor_of(s, merged, "l13.weight").eq(0).all().item<bool>());
  CHECK(tensor_of(s, merged, "l11.weight").eq(5).all().item<bool>());
  CHECK(tensor_of(s, merged, "l0.weight").eq(5).all().item<bool>());
}

TEST_CASE("a depth submodel costs fewer FLOPs, less memory and fewer bytes", "[submodel][depth]") {
  const ModelSpec s = with_exits(make_resnet18(3, 32, 10, 1.0, false));
  const SubmodelSpec half = scaled_submodel(s, 0.5, Slicing::kDepth);  // stem + stages 1-2
  CHECK(half.depth == 4);
  const ModelSpec arch = submodel_architecture(s, half);
  const ModelSpec plain = make_resnet18(3, 32, 10, 1.0, false);
  // Every stage costs about the same FLOPs (half the positions, twice the channels); the deep
  // stages hold most of the parameters.
  CHECK(forward_flops(arch) / forward_flops(plain) == Approx(0.5).epsilon(0.05));
  CHECK(arch.parameter_count() < plain.parameter_count() / 10);
  CHECK(model_bytes(arch) < model_bytes(plain) / 10);
  CHECK(training_memory(arch, 32, true).total() < training_memory(plain, 32, true).total());
  // What travels is exactly the submodel.
  CHECK(std::int64_t(gather_index(s, half).size()) * 4 == std::int64_t(model_bytes(arch)));
  // Width and depth compose: narrower and shallower costs less than either.
  const ModelSpec both = submodel_architecture(s, scaled_submodel(s, 0.5, Slicing::kWidthAndDepth));
  CHECK(forward_flops(both) < forward_flops(arch));
  CHECK(forward_flops(both) < forward_flops(submodel_architecture(s, prefix_submodel(s, 0.5))));
  CHECK(model_bytes(both) < model_bytes(arch));
  // The executor builds the same architecture from the shape it is sent.
  std::vector<std::int32_t> units;
  for (const auto& g : both.groups) units.push_back(g.units);
  CHECK(submodel_architecture(s, units, 4).state_count() == both.state_count());
  CHECK(forward_flops(submodel_architecture(s, units, 4)) == forward_flops(both));
}
