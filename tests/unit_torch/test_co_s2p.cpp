// Co-S²P's rules (Li et al., arXiv 2410.08457, as the authors' public code applies them):
// cross-block knowledge transfer towards the deepest exit, and staleness-aware weights.
#include <catch2/catch.hpp>
#include <cmath>

#include "edgesim/algo/co_s2p.hpp"
#include "edgesim/common/error.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/task_runner.hpp"
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

namespace {
std::vector<std::string> vit_co_s2p_settings() {
  return {"data.dataset=synthetic", "data.synthetic_channels=3", "data.synthetic_size=32", "data.train_samples=96",
          "data.test_samples=20", "devices.count=2", "devices.memory=estimated", "algorithm.name=co-s2p",
          "model.name=vit", "model.layers=6", "model.early_exits=true", "model.exit_blocks=2,4",
          "algorithm.rates=1,0.34", "algorithm.co_s2p_width=full", "algorithm.co_s2p_distill_from=1"};
}

// The order a policy's plan gives, on `global` weights.
TaskOrder order_of(const Experiment& e, const TaskPlan& plan, int device, int round, const torch::Tensor& global) {
  TaskOrder order;
  order.device = device, order.round = round, order.trainer = plan.trainer, order.options = plan.options;
  order.depth = plan.submodel->depth, order.exits = plan.submodel->exits;
  for (const auto& k : plan.submodel->kept) order.units.push_back(static_cast<std::int32_t>(k.size()));
  order.tensors["weights"] = extract_submodel(global, gather_tensor(gather_index(e.model, *plan.submodel)));
  return order;
}
}  // namespace

TEST_CASE("Co-S2P's rolling window: a device's trained blocks roll over its heads' depths; the blocks before are "
          "frozen, unchanged and charged no gradient, optimizer state or saved activations",
          "[co_s2p][window]") {
  std::vector<std::string> settings = vit_co_s2p_settings();
  settings.push_back("algorithm.co_s2p_window=3");
  const Experiment e = Experiment::build(load_config(EDGESIM_SOURCE_DIR "/experiments/quickstart.toml", settings));
  CoS2P policy(e);
  // Device 0 (rate 1) ends at blocks 2, 4, 6, 2, ... (the heads within its depth); with W = 3
  // the blocks before its last 3 are frozen and a frozen block's exit is left out.
  struct Expect {
    int depth, frozen_blocks;
    std::vector<std::int32_t> exits;
  };
  const std::vector<Expect> rolls = {{2, 0, {}}, {4, 1, {2}}, {6, 3, {4}}, {2, 0, {}}};
  for (std::size_t i = 0; i < rolls.size(); ++i) {
    const TaskPlan plan = policy.plan(0, static_cast<int>(i + 1));
    INFO("round " << i + 1);
    REQUIRE(plan.submodel);
    CHECK(plan.submodel->depth == rolls[i].depth);
    CHECK(plan.submodel->exits == rolls[i].exits);
    const int frozen = rolls[i].frozen_blocks;
    CHECK(plan.options.number("frozen_layers", 0) == (frozen ? e.model.blocks[frozen - 1].end : 0));
  }
  // Device 1 (rate 0.34: 2 blocks) has one head in its depth: the window never moves.
  for (int round = 1; round <= 3; ++round) CHECK(policy.plan(1, round).submodel->depth == 2);
  CHECK(policy.eval_rates() == std::vector<double>{2.0 / 6, 4.0 / 6});

  // Round 3's task: blocks 4-6 and the exit after block 4 train on the frozen blocks 1-3.
  torch::manual_seed(4);
  const torch::Tensor global = flatten_weights(*build_network(e.model));
  const TaskPlan plan = policy.plan(0, 3);
  TaskRunner runner(e, {0});
  const TaskResult done = runner.run(order_of(e, plan, 0, 3, global));
  REQUIRE(done.status == TaskStatus::kOk);
  const ModelSpec arch = submodel_architecture(e.model, *plan.submodel);
  const int frozen_layers = e.model.blocks[2].end;
  std::int64_t offset = 0, frozen_floats = 0;
  bool frozen_moved = false, trained_moved = false;
  const torch::Tensor sent = order_of(e, plan, 0, 3, global).weights();
  for (const auto& p : arch.parameters()) {
    std::int64_t size = 1;
    for (const auto& d : p.dims) size *= arch.extent(d);
    const bool moved = !torch::equal(done.weights.narrow(0, offset, size), sent.narrow(0, offset, size));
    if (p.layer < frozen_layers) frozen_moved |= moved, frozen_floats += size;
    else trained_moved |= moved;
    offset += size;
  }
  REQUIRE(frozen_floats > 0);
  CHECK_FALSE(frozen_moved);
  CHECK(trained_moved);
  TrainingShape shape;
  shape.all_exits = true;
  const MemoryFootprint whole = training_memory(arch, e.config.algorithm.batch_size, true, shape);
  shape.frozen_layers = frozen_layers;
  const MemoryFootprint windowed = training_memory(arch, e.config.algorithm.batch_size, true, shape);
  CHECK(done.memory_bytes == static_cast<std::int64_t>(windowed.total()));
  CHECK(whole.gradients - windowed.gradients == 4u * static_cast<std::uint64_t>(frozen_floats));
  CHECK(whole.optimizer - windowed.optimizer == 4u * static_cast<std::uint64_t>(frozen_floats));
  CHECK(windowed.activations < whole.activations);
  CHECK(done.reference_compute_s > 0);

  // Learned masks are learned on the prefix, not on the blocks the window rolls to: an error.
  settings.push_back("algorithm.co_s2p_width=learned");
  try {
    load_config(EDGESIM_SOURCE_DIR "/experiments/quickstart.toml", settings);
    FAIL("a rolling window with learned masks should be refused");
  } catch (const InputError& error) {
    CHECK_THAT(error.what(), Catch::Contains("algorithm.co_s2p_window"));
  }
}

TEST_CASE("Co-S2P's mask learning is data-aware: in a trained model where half the MLP units carry nothing, the "
          "masks keep the units that matter",
          "[co_s2p][masks]") {
  // A small ViT trained on a learnable task (the class is the argmax of a fixed linear map of
  // the image), then half the units of its last MLP are cut off (their output weights zeroed):
  // gating them changes nothing, gating a live one costs loss. At r = 1/2 the ideal mask is
  // exactly the live half; a data-blind prefix keeps half live, half dead.
  torch::manual_seed(11);
  VitShape shape{4, 32, 4, 64, 2};  // patch 4, dim 32, 4 heads, MLP 64, 2 blocks
  const ModelSpec vit = make_vit(shape, 3, 8, 10, 1.0);
  auto net = build_network(vit);
  const torch::Tensor x = torch::randn({256, 3, 8, 8});
  const torch::Tensor y = x.flatten(1).matmul(torch::randn({3 * 8 * 8, 10})).argmax(1);
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(3e-3));
  for (int step = 0; step < 60; ++step) {  // fitted, not to zero loss: every live unit still counts
    const auto batch = torch::randint(0, 256, {64}, torch::kLong);
    const auto loss = classification_loss(net->forward(x.index_select(0, batch)), y.index_select(0, batch));
    adam.zero_grad();
    loss.backward();
    adam.step();
  }
  const double trained = net->forward(x).argmax(1).eq(y).to(torch::kFloat32).mean().item<double>();
  REQUIRE(trained > 0.5);  // chance is 0.1
  // Block 2's MLP: the last group of 64 units (groups are in model order), and the layer reading it.
  int last = -1;
  for (std::size_t g = 0; g < vit.groups.size(); ++g)
    if (vit.groups[g].sliceable && vit.groups[g].units == 64) last = static_cast<int>(g);
  REQUIRE(last >= 0);
  torch::Tensor out_weight;
  for (const auto& p : net->named_parameters())
    if (p.value().dim() == 2 && p.value().size(1) == 64) out_weight = p.value();  // the last such: block 2's
  REQUIRE(out_weight.defined());
  {
    torch::NoGradGuard no_grad;
    for (int u = 1; u < 64; u += 2) out_weight.select(1, u).zero_();  // odd units: dead
  }
  Examples data{x, y};
  UnitMaskOptions options;
  options.rate = 0.5, options.epochs = 40, options.lr = 0.1;  // 320 steps: the per-unit signal is small
  Rng rng(5, Purpose::kMask, 0, 1);
  const auto keep = learn_unit_masks(net, data, options, rng);
  const torch::Tensor k = keep.at(last);
  double live = 0, dead = 0;
  for (int u = 0; u < 64; ++u) (u % 2 ? dead : live) += k[u].item<double>();
  INFO("kept live " << live << " / 32, dead " << dead << " / 32");
  CHECK(live >= 22);  // of 32; a data-blind prefix keeps 16 live and 16 dead
  CHECK(dead <= 8);
}

TEST_CASE("Co-S2P's mask task is charged the larger of its phases, close to its measured peak", "[co_s2p][masks]") {
  std::vector<std::string> settings = vit_co_s2p_settings();
  settings.push_back("algorithm.co_s2p_width=learned");
  settings.push_back("devices.memory=enforced");
  settings.push_back("algorithm.co_s2p_mask_epochs=1");
  const Experiment e = Experiment::build(load_config(EDGESIM_SOURCE_DIR "/experiments/quickstart.toml", settings));
  CoS2P policy(e);
  const TaskPlan learns = policy.plan(1, 1);  // rate 0.34: 2 blocks at full width, masks learned first
  REQUIRE(learns.options.number("mask_epochs", 0) == 1);
  torch::manual_seed(2);
  const torch::Tensor global = flatten_weights(*build_network(e.model));
  TaskRunner runner(e, {1});
  const TaskResult masked = runner.run(order_of(e, learns, 1, 1, global));
  REQUIRE(masked.status == TaskStatus::kOk);
  TaskOrder plain = order_of(e, learns, 1, 1, global);
  plain.options.set("mask_epochs", 0);
  const TaskResult trained = runner.run(plain);
  // The gated pass keeps each gated layer's output twice: more than training the same prefix.
  CHECK(masked.memory_bytes > trained.memory_bytes);
  const ModelSpec arch = submodel_architecture(e.model, *learns.submodel);
  CHECK(masked.memory_bytes == static_cast<std::int64_t>(
                                   std::max<std::uint64_t>(trained.memory_bytes,
                                                           mask_learning_memory(arch, e.config.algorithm.batch_size).total())));
  INFO("mask task: estimate " << masked.memory_bytes << " B, measured peak " << masked.peak_memory_bytes << " B");
  CHECK(masked.peak_memory_bytes > 0);
  CHECK(double(masked.peak_memory_bytes) < 1.15 * double(masked.memory_bytes));
  CHECK(double(masked.peak_memory_bytes) > 0.7 * double(masked.memory_bytes));
}
