// Local trainers (trainer/trainer.hpp), run through the real TaskRunner: HeteroFL's masked
// cross-entropy leaves the classifier rows of classes a device lacks untouched; FjORD's
// self-distillation trains with a second (full-width) pass that the clock charges; a frozen
// prefix gets no gradient and is charged none; MOON's contrastive trainer charges each of its
// reference passes one forward, keeps the device's model as state and computes MOON's loss.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <set>

#include "edgesim/io/config.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/device/memory_meter.hpp"
#include "edgesim/runtime/task_runner.hpp"

using namespace edgesim;

namespace {

// 4 devices, each holding one shard (one or two classes) of synthetic 28x28 images.
Experiment shard_experiment() {
  const ExperimentConfig c = load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=synthetic", "data.synthetic_channels=1", "data.synthetic_size=28", "data.train_samples=400",
       "data.test_samples=50", "data.partition=shards", "data.shards_per_device=1", "devices.count=4",
       "devices.memory=estimated", "algorithm.name=heterofl"});
  return Experiment::build(c);
}

// Rows [classes] of the classifier (the last linear layer) of flat weights.
torch::Tensor classifier(const ModelSpec& spec, const torch::Tensor& flat) {
  auto net = build_network(spec);
  load_weights(*net, flat);
  torch::Tensor last;
  for (const auto& p : net->named_parameters())
    if (p.value().dim() == 2) last = p.value().detach().clone();
  return last;
}

// A task for `device` in `round`, starting from a freshly initialised model.
TaskOrder fresh_order(const Experiment& e, int device, int round, std::uint64_t seed) {
  torch::manual_seed(seed);
  TaskOrder order;
  order.device = device, order.round = round;
  order.tensors["weights"] = flatten_weights(*build_network(e.model));
  return order;
}

}  // namespace

TEST_CASE("masked cross-entropy: a device leaves the classifier rows of its absent classes untouched", "[trainer]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {0});
  TaskOrder order = fresh_order(e, 0, 1, 1);
  std::set<int> present;
  for (auto i : e.partition.indices[0]) present.insert(e.train.images.labels[i]);
  REQUIRE(present.size() < 10);
  const auto before = classifier(e.model, order.weights());

  auto changed_rows = [&](bool masked) {
    order.options.set("masked_ce", masked ? 1.0 : 0.0);
    const auto after = classifier(e.model, runner.run(order).weights);
    std::set<int> changed;
    for (int c = 0; c < 10; ++c)
      if (!torch::equal(after[c], before[c])) changed.insert(c);
    return changed;
  };
  CHECK(changed_rows(true) == present);
  order.options.set("masked_ce", 1.0);
  const auto masked_bytes = runner.run(order).memory_bytes;
  order.options.set("masked_ce", 0.0);
  CHECK(masked_bytes == runner.run(order).memory_bytes + 4 * 32 * 10);  // one more [batch, classes] logits copy
  CHECK(changed_rows(false).size() == 10);  // plain CE pushes every absent class down
}

TEST_CASE("self-distillation: the sampled width learns from the full submodel, charged as two passes", "[trainer]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {1});
  TaskOrder order = fresh_order(e, 1, 3, 2);
  order.trainer = "ordered_dropout";
  order.options.set("widths", {0.25, 0.5, 1.0});
  const TaskResult plain = runner.run(order);
  order.options.set("distill", 1.0);
  const TaskResult distilled = runner.run(order);
  TaskOrder full_width = order;
  full_width.trainer = "sgd";
  const TaskResult full = runner.run(full_width);
  REQUIRE(plain.status == TaskStatus::kOk);
  REQUIRE(distilled.status == TaskStatus::kOk);
  // Every step makes a full-width pass, plus one at the drawn width when that is narrower.
  CHECK(distilled.reference_compute_s > plain.reference_compute_s);
  CHECK(distilled.reference_compute_s > full.reference_compute_s);
  CHECK(distilled.reference_compute_s < 2.0 * full.reference_compute_s);
  CHECK(std::isfinite(distilled.train_loss));
  CHECK(distilled.memory_bytes > plain.memory_bytes);  // a teacher and a student graph per step
  CHECK(!torch::equal(distilled.weights, plain.weights));
}

TEST_CASE("a frozen prefix: no gradient, no optimizer state, no saved activations, forward-only FLOPs", "[trainer]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {2});
  TaskOrder order = fresh_order(e, 2, 1, 4);
  const TaskResult plain = runner.run(order);
  const int frozen = e.model.blocks.at(0).end;  // the first conv stage
  order.options.set("frozen_layers", frozen);
  const TaskResult cut = runner.run(order);
  REQUIRE(cut.status == TaskStatus::kOk);
  // The frozen layers' weights come back as they were sent; the rest trained.
  std::int64_t frozen_floats = 0;
  for (const auto& p : e.model.parameters()) {
    if (p.layer >= frozen) continue;
    std::int64_t n = 1;
    for (const auto& d : p.dims) n *= e.model.extent(d);
    frozen_floats += n;
  }
  REQUIRE(frozen_floats > 0);
  CHECK(torch::equal(cut.weights.narrow(0, 0, frozen_floats), order.weights().narrow(0, 0, frozen_floats)));
  CHECK(!torch::equal(cut.weights, order.weights()));
  // Charged: no gradient and no momentum for the frozen parameters, fewer saved activations.
  const auto full = training_memory(e.model, 32, true);
  const auto shaped = training_memory(e.model, 32, true, TrainingShape{frozen, 1, 0});
  CHECK(full.gradients - shaped.gradients == 4u * static_cast<std::uint64_t>(frozen_floats));
  CHECK(full.optimizer - shaped.optimizer == 4u * static_cast<std::uint64_t>(frozen_floats));
  CHECK(shaped.activations < full.activations);
  CHECK(cut.memory_bytes == static_cast<std::int64_t>(shaped.total()));
  CHECK(plain.memory_bytes == static_cast<std::int64_t>(full.total()));
  // FLOPs: the frozen layers' forward once, the others' forward and backward.
  double frozen_fwd = 0;
  for (int i = 0; i < frozen; ++i) frozen_fwd += layer_forward_flops(e.model, e.model.layers[i]);
  const double per_sample = training_flops_per_sample(e.model) - 2.0 * frozen_fwd;
  CHECK(cut.reference_compute_s ==
        Approx(per_sample * double(cut.samples) / e.device_set.reference_flops_per_s).epsilon(1e-12));
}

TEST_CASE("contrastive (MOON): two reference passes of one forward each, state kept for the next task", "[trainer]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {3});
  TaskOrder order = fresh_order(e, 3, 1, 5);
  const TaskResult plain = runner.run(order);
  order.trainer = "contrastive";
  order.options.set("mu", 1.0).set("tau", 0.5);
  const TaskResult first = runner.run(order);
  REQUIRE(first.status == TaskStatus::kOk);
  CHECK(first.reference_compute_s ==
        Approx(plain.reference_compute_s * (3.0 + 2.0) / 3.0).epsilon(1e-12));  // + 2 forwards per sample
  CHECK(first.memory_bytes > plain.memory_bytes);
  REQUIRE(first.state.count("previous"));
  CHECK(torch::equal(first.state.at("previous"), first.weights));
  // With a previous model the negative differs, so the training does too.
  order.tensors["previous"] = first.weights;
  const TaskResult second = runner.run(order);
  CHECK(!torch::equal(second.weights, first.weights));
  CHECK(std::isfinite(second.train_loss));
}

TEST_CASE("contrastive: the representation is the output of the layer `representation` places before the classifier", "[trainer]") {
  const Experiment e = shard_experiment();
  torch::manual_seed(8);
  SpecNet net = build_network(e.model);
  net->eval();
  const torch::Tensor x = torch::randn({3, 1, 28, 28});
  const int output = e.model.output();
  std::vector<torch::Tensor> out(static_cast<std::size_t>(output + 1));
  net->forward_into(x, out);
  // back = 1 (the default): the classifier's input; back = k: layer output − k, flattened.
  CHECK(torch::allclose(net->forward_with_features(x).second, out[output - 1].flatten(1)));
  for (int back : {2, 3}) {
    INFO("back " << back);
    const auto [logits, z] = net->forward_with_features(x, back);
    CHECK(torch::allclose(logits, out[output]));
    CHECK(torch::allclose(z, out[output - back].flatten(1)));
  }
  CHECK_THROWS_WITH(net->forward_with_features(x, output + 1), Catch::Contains("layers before the classifier"));
  CHECK_THROWS(net->forward_with_features(x, 0));

  // The trainer's option picks it: with a previous model, another layer gives another update.
  TaskRunner runner(e, {3});
  TaskOrder order = fresh_order(e, 3, 1, 5);
  order.trainer = "contrastive";
  order.options.set("mu", 1.0).set("tau", 0.5);
  order.tensors["previous"] = runner.run(order).weights;
  const TaskResult by_input = runner.run(order);
  order.options.set("representation", 2.0);
  const TaskResult by_earlier = runner.run(order);
  REQUIRE(by_earlier.status == TaskStatus::kOk);
  CHECK(!torch::equal(by_earlier.weights, by_input.weights));
  CHECK(by_earlier.reference_compute_s == Approx(by_input.reference_compute_s).epsilon(1e-12));  // same passes
}

TEST_CASE("MOON's loss term matches an independent computation", "[trainer]") {
  // −log(e^{s+/τ} / (e^{s+/τ} + e^{s−/τ})) with cosine similarities, averaged over the batch.
  torch::manual_seed(6);
  const auto z = torch::randn({5, 8}), zg = torch::randn({5, 8}), zp = torch::randn({5, 8});
  const double tau = 0.5;
  double expected = 0;
  for (int i = 0; i < 5; ++i) {
    auto cos = [&](const torch::Tensor& a, const torch::Tensor& b) {
      return (a[i] * b[i]).sum().item<double>() / (a[i].norm().item<double>() * b[i].norm().item<double>());
    };
    const double p = std::exp(cos(z, zg) / tau), n = std::exp(cos(z, zp) / tau);
    expected += -std::log(p / (p + n)) / 5;
  }
  CHECK(contrastive_loss(z, zg, zp, tau).item<double>() == Approx(expected).epsilon(1e-5));
}

TEST_CASE("distillation loss: KL(teacher ‖ student), zero when they agree, no gradient to the teacher", "[trainer]") {
  torch::manual_seed(3);
  const auto teacher = torch::randn({4, 10}, torch::requires_grad());
  const auto student = torch::randn({4, 10}, torch::requires_grad());
  CHECK(distillation_loss(teacher, teacher).item<double>() == Approx(0.0).margin(1e-6));
  const auto loss = distillation_loss(student, teacher);
  const auto expected = torch::kl_div(torch::log_softmax(student, -1), torch::softmax(teacher, -1),
                                      at::Reduction::Sum) / 4;
  CHECK(loss.item<double>() == Approx(expected.item<double>()).epsilon(1e-5));
  loss.backward();
  CHECK(student.grad().defined());
  CHECK(!teacher.grad().defined());
}

// MSfusion's split of ResNet-18 on its 48 MiB devices (results/msfusion/): the two reference
// passes ran out of memory when every layer's output lived until the pass ended (~14 MiB
// more than the estimate charges them).
TEST_CASE("contrastive: the reference passes' measured memory is within what the estimate charges them", "[trainer][memory]") {
  install_counting_allocator();
  const ExperimentConfig c = load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=synthetic", "data.synthetic_channels=3", "data.synthetic_size=32", "data.train_samples=200",
       "data.test_samples=50", "devices.count=4", "model.name=resnet18", "model.width=0.125", "model.static_bn=true",
       "devices.memory=enforced", "algorithm.name=fedavg", "algorithm.batch_size=32",
       "devices.profiles=" EDGESIM_SOURCE_DIR "/experiments/msfusion/devices/jetson32-resnet.toml"});
  const Experiment e = Experiment::build(c);
  TaskRunner runner(e, {3});
  TaskOrder order = fresh_order(e, 3, 1, 5);
  const TaskResult plain = runner.run(order);
  order.trainer = "contrastive";
  order.options.set("mu", 1.0).set("tau", 0.5);
  const TaskResult contrastive = runner.run(order);
  REQUIRE(plain.status == TaskStatus::kOk);
  REQUIRE(contrastive.status == TaskStatus::kOk);
  CHECK(contrastive.peak_memory_bytes > plain.peak_memory_bytes);
  CHECK(contrastive.peak_memory_bytes - plain.peak_memory_bytes <= contrastive.memory_bytes - plain.memory_bytes);
}
