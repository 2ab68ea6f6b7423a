// The LibTorch module built from a ModelSpec matches the spec, and flat weights round-trip.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/zoo.hpp"

using namespace edgesim;

TEST_CASE("the built network has exactly the spec's parameters and output shape", "[model]") {
  for (double width : {0.25, 1.0, 2.0}) {
    const ModelSpec spec = make_cnn(1, 28, 10, width);
    auto net = build_network(spec);
    std::int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    CHECK(n == spec.parameter_count());
    CHECK(flatten_weights(*net).numel() == spec.parameter_count());
    CHECK(static_cast<std::uint64_t>(flatten_weights(*net).numel()) * 4 == model_bytes(spec));
    const auto out = net->forward(torch::zeros({3, 1, 28, 28}));
    CHECK(out.sizes() == torch::IntArrayRef({3, 10}));
  }
}

TEST_CASE("flatten then load restores a model bit for bit", "[model]") {
  const ModelSpec spec = make_cnn(1, 28, 10, 1.0);
  torch::manual_seed(1);
  auto a = build_network(spec);
  torch::manual_seed(2);
  auto b = build_network(spec);
  const auto wa = flatten_weights(*a);
  REQUIRE_FALSE(torch::equal(wa, flatten_weights(*b)));
  load_weights(*b, wa);
  CHECK(torch::equal(wa, flatten_weights(*b)));
  const auto x = torch::randn({2, 1, 28, 28});
  CHECK(torch::equal(a->forward(x), b->forward(x)));
  CHECK_THROWS(load_weights(*b, wa.narrow(0, 0, wa.numel() - 1)));
  CHECK_THROWS(load_weights(*b, torch::cat({wa, torch::zeros({1})})));
}
