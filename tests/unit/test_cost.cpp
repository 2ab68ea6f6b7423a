// The analytic cost model against hand computation.
#include <catch2/catch.hpp>

#include "edgesim/common/error.hpp"
#include "edgesim/device/clock.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"

using namespace edgesim;

TEST_CASE("conv FLOPs: 2·k²·C_in per output element, plus the bias add", "[cost]") {
  // 3x3 conv, 4 -> 8 channels, 10x10 'same' output: 10·10·8 outputs × (2·9·4 + 1) FLOPs each.
  ModelSpec s;
  SpecBuilder b(s, 4, 10, 10);
  const int conv = b.conv(b.group("c", 8), 3, 1, 1);
  CHECK(layer_forward_flops(s, s.layers[conv]) == 800.0 * 73.0);
  CHECK(s.parameter_count() == 8 * 4 * 9 + 8);
  // Stride 2 quarters the output positions.
  const int strided = b.conv(b.group("d", 8), 3, 2, 1, false);
  CHECK(s.layers[strided].out_h == 5);
  CHECK(layer_forward_flops(s, s.layers[strided]) == 5.0 * 5 * 8 * (2.0 * 9 * 8));
}

TEST_CASE("linear FLOPs: 2·in·out plus out bias adds; after a flatten, per input plane", "[cost]") {
  ModelSpec s;
  SpecBuilder b(s, 2, 3, 3);
  b.flatten();
  const int fc = b.linear(b.group("h", 10));
  CHECK(layer_forward_flops(s, s.layers[fc]) == 2.0 * 18 * 10 + 10);
  CHECK(s.parameter_count() == 18 * 10 + 10);
}

TEST_CASE("ReLU, pooling, BN and flatten are free", "[cost]") {
  ModelSpec s;
  SpecBuilder b(s, 8, 4, 4);
  for (int l : {b.relu(), b.batchnorm(), b.maxpool(2), b.flatten()}) CHECK(layer_forward_flops(s, s.layers[l]) == 0);
}

TEST_CASE("attention FLOPs: projections plus the two T x T products", "[cost]") {
  ModelSpec s;
  SpecBuilder b(s, 16);  // 16 tokens
  const int d = b.group("model", 32, 1, false), heads = b.group("heads", 4, 8);
  b.embedding(100, d);
  const int att = b.self_attention(heads);
  const double t = 16, inner = 32;
  CHECK(layer_forward_flops(s, s.layers[att]) ==
        3 * (2 * 32.0 + 1) * inner * t + (2 * inner + 1) * 32 * t + 4 * t * t * inner);
}

TEST_CASE("the quickstart CNN, layer by layer", "[cost]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  REQUIRE(cnn.layers.size() == 10);
  // conv1: 1->16, 5x5, same padding at 28x28; conv2: 16->32 at 14x14; fc 32·7·7 -> 128 -> 10.
  const double conv1 = (2.0 * 25 * 1 + 1) * 16 * 28 * 28;
  const double conv2 = (2.0 * 25 * 16 + 1) * 32 * 14 * 14;
  const double fc1 = (2.0 * 1568 + 1) * 128, fc2 = (2.0 * 128 + 1) * 10;
  CHECK(forward_flops(cnn) == conv1 + conv2 + fc1 + fc2);
  CHECK(training_flops_per_sample(cnn) == 3 * (conv1 + conv2 + fc1 + fc2));
  CHECK(cnn.parameter_count() == (16 * 25 + 16) + (32 * 16 * 25 + 32) + (1568 * 128 + 128) + (128 * 10 + 10));
  CHECK(model_bytes(cnn) == 4 * static_cast<std::uint64_t>(cnn.parameter_count()));
}

TEST_CASE("width scales hidden layers, not input or classes", "[cost]") {
  const ModelSpec full = make_cnn(1, 28, 10, 1.0), half = make_cnn(1, 28, 10, 0.5);
  CHECK(half.width(half.layers[0].out_group) == 8);
  CHECK(half.width(half.layers[3].out_group) == 16);
  CHECK(half.width(half.layers.back().out_group) == 10);
  // conv2 cost ∝ C_in·C_out, so halving both roughly quarters it.
  CHECK(layer_forward_flops(half, half.layers[3]) / layer_forward_flops(full, full.layers[3]) ==
        Approx(0.25).epsilon(0.01));
}

TEST_CASE("training memory: weights, gradients, momentum and saved activations", "[cost]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const std::uint64_t p = cnn.parameter_count();
  // Per sample: the input plus every layer's output.
  const std::uint64_t act = 784 + 16 * 784 * 2 + 16 * 196 + 32 * 196 * 2 + 32 * 49 + 1568 + 128 * 2 + 10;
  const MemoryFootprint with = training_memory(cnn, 32, true), without = training_memory(cnn, 32, false);
  CHECK(with.weights == 4 * p);
  CHECK(with.gradients == 4 * p);
  CHECK(with.optimizer == 4 * p);
  CHECK(without.optimizer == 0);
  CHECK(with.activations == 4 * act * 32);
  CHECK(with.total() == 12 * p + 4 * act * 32);
  CHECK(training_memory(cnn, 64, true).activations == 2 * with.activations);
}

TEST_CASE("BN running statistics travel with the weights but are not trained", "[cost]") {
  const ModelSpec vgg = make_vgg(11, 3, 32, 10, 1.0, false), static_bn = make_vgg(11, 3, 32, 10, 1.0, true);
  CHECK(vgg.parameter_count() == static_bn.parameter_count());
  CHECK(vgg.state_count() - vgg.parameter_count() == 8 * 0 + (64 + 128 + 256 * 2 + 512 * 4) * 2 + 8);
  CHECK(static_bn.state_count() == static_bn.parameter_count());
  const MemoryFootprint m = training_memory(vgg, 8, false);
  CHECK(m.weights == 4 * static_cast<std::uint64_t>(vgg.state_count()));
  CHECK(m.gradients == 4 * static_cast<std::uint64_t>(vgg.parameter_count()));
}

TEST_CASE("virtual clock: compute × slowdown, bytes / bandwidth + latency per direction", "[clock]") {
  DeviceProfile d;
  d.slowdown = 4.0;
  d.downlink_mbps = 80;  // 10 MB/s
  d.uplink_mbps = 8;     // 1 MB/s
  d.latency_s = 0.01;
  const TaskTiming t = time_task(d, 2.5, 1'000'000, 2'000'000);
  CHECK(t.download_s == Approx(0.1 + 0.01));
  CHECK(t.compute_s == Approx(10.0));
  CHECK(t.upload_s == Approx(2.0 + 0.01));
  CHECK(t.comm_s() == Approx(2.12));
  CHECK(t.total_s() == Approx(12.12));
}

TEST_CASE("a device 4x slower takes 4x the compute time", "[clock]") {
  DeviceProfile fast, slow;
  slow.slowdown = 4.0;
  CHECK(time_task(slow, 1.5, 0, 0).compute_s == 4 * time_task(fast, 1.5, 0, 0).compute_s);
}

TEST_CASE("clock modes parse; anything else is an input error", "[clock]") {
  CHECK(parse_clock_mode("analytic") == ClockMode::kAnalytic);
  CHECK(parse_clock_mode("realtime") == ClockMode::kRealtime);
  CHECK_THROWS_AS(parse_clock_mode("fast"), edgesim::InputError);
}
