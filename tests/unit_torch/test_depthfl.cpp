// DepthFL (Kim et al., ICLR 2023), its published rules against small cases computed
// independently here: the mutual self-distillation loss on hand-set logits, the teacher side
// detached, the distillation weight ramp, FedDyn's local and server terms, the submodel with a
// classifier after each level, and the exit-average prediction.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cmath>

#include "edgesim/algo/depthfl.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/runtime/task_runner.hpp"
#include "edgesim/trainer/depthfl_loss.hpp"

using namespace edgesim;

namespace {

// Softmax, log-softmax and cross-entropy of one row, in plain doubles.
std::vector<double> softmax(const std::vector<double>& z) {
  double m = z[0], s = 0;
  for (double v : z) m = std::max(m, v);
  std::vector<double> p;
  for (double v : z) s += std::exp(v - m);
  for (double v : z) p.push_back(std::exp(v - m) / s);
  return p;
}
double kl(const std::vector<double>& p, const std::vector<double>& q) {
  double k = 0;
  for (std::size_t i = 0; i < p.size(); ++i) k += p[i] * std::log(p[i] / q[i]);
  return k;
}
std::vector<double> scaled(const std::vector<double>& z, double t) {
  std::vector<double> out;
  for (double v : z) out.push_back(v / t);
  return out;
}
torch::Tensor row(const std::vector<double>& z) {
  return torch::tensor(std::vector<float>(z.begin(), z.end())).view({1, -1});
}

ModelSpec cnn_with_exits() {
  ModelSpec s = make_cnn(1, 28, 10, 1.0);
  add_early_exits(s);
  return s;
}

}  // namespace

TEST_CASE("DepthFL: mutual self-distillation loss on hand-set logits (every ordered pair, T² scaling)", "[depthfl]") {
  const std::vector<std::vector<double>> z = {{2.0, 0.5, -1.0}, {0.1, 1.2, 0.3}, {-0.5, 0.0, 2.5}};
  const int y = 1;
  const double w = 0.7, t = 2.0;
  double expected = 0;
  for (std::size_t i = 0; i < z.size(); ++i) {
    expected += -std::log(softmax(z[i])[y]);
    for (std::size_t j = 0; j < z.size(); ++j)
      if (j != i) expected += w * t * t * kl(softmax(scaled(z[j], t)), softmax(scaled(z[i], t))) / 2.0;
  }
  std::vector<torch::Tensor> logits;
  for (const auto& r : z) logits.push_back(row(r));
  const auto loss = mutual_distillation_loss(logits, torch::tensor({std::int64_t(y)}), w, t);
  CHECK(loss.item<double>() == Approx(expected).epsilon(1e-5));
  // Weight 0 (or one classifier): the sum of the cross-entropies only.
  const double ce = -std::log(softmax(z[0])[y]) - std::log(softmax(z[1])[y]) - std::log(softmax(z[2])[y]);
  CHECK(mutual_distillation_loss(logits, torch::tensor({std::int64_t(y)}), 0.0, t).item<double>() ==
        Approx(ce).epsilon(1e-5));
}

TEST_CASE("DepthFL: the teacher side is detached — each classifier's gradient is its own CE and KL terms", "[depthfl]") {
  // Two classifiers, T = 1: d/dz1 [CE(z1, y) + w·KL(p2 ‖ p1)] = (p1 − e_y) + w·(p1 − p2); the
  // term KL(p1 ‖ p2), where z1 is the teacher, must add nothing to z1's gradient.
  const std::vector<double> a = {1.0, -0.5, 0.25}, b = {-0.3, 0.8, 0.1};
  const int y = 2;
  const double w = 0.5;
  auto z1 = row(a).requires_grad_(), z2 = row(b).requires_grad_();
  mutual_distillation_loss({z1, z2}, torch::tensor({std::int64_t(y)}), w, 1.0).backward();
  const auto p1 = softmax(a), p2 = softmax(b);
  for (int c = 0; c < 3; ++c) {
    CHECK(z1.grad()[0][c].item<double>() == Approx(p1[c] - (c == y) + w * (p1[c] - p2[c])).margin(1e-6));
    CHECK(z2.grad()[0][c].item<double>() == Approx(p2[c] - (c == y) + w * (p2[c] - p1[c])).margin(1e-6));
  }
}

TEST_CASE("DepthFL: the distillation weight ramps as exp(-5 (1 - t/R)^2) over the first R rounds", "[depthfl]") {
  CHECK(depthfl_distillation_weight(1, 300) == Approx(std::exp(-5.0)));
  CHECK(depthfl_distillation_weight(151, 300) == Approx(std::exp(-5.0 * 0.25)));
  CHECK(depthfl_distillation_weight(301, 300) == Approx(1.0));
  CHECK(depthfl_distillation_weight(5000, 300) == Approx(1.0));
  CHECK(depthfl_distillation_weight(1, 0) == 1.0);
  for (int r = 1; r < 300; ++r) CHECK(depthfl_distillation_weight(r, 300) < depthfl_distillation_weight(r + 1, 300));
}

TEST_CASE("DepthFL with FedDyn: the local correction, its state update and the server step on a tiny case", "[depthfl]") {
  const double alpha = 0.1;
  auto theta = torch::tensor({1.0f, -2.0f, 0.5f}).requires_grad_();
  const auto received = torch::tensor({0.5f, -1.0f, 0.5f}), h = torch::tensor({0.2f, 0.0f, -0.4f});
  // −⟨θ, h⟩ + α/2 ‖θ − θ₀‖² = −(0.2 − 0.2) + 0.05 · (0.25 + 1) = 0.0625
  const auto penalty = feddyn_penalty(theta, received, h, alpha);
  CHECK(penalty.item<double>() == Approx(0.0625));
  penalty.backward();  // −h + α(θ − θ₀)
  CHECK(torch::allclose(theta.grad(), torch::tensor({-0.2f + 0.05f, -0.1f, 0.4f})));
  CHECK(torch::allclose(feddyn_next_state(h, theta, received, alpha), torch::tensor({0.15f, 0.1f, -0.4f})));

  // Server: 4 devices, 2 of them hold entry 0, 1 holds entry 1, nobody entry 2; entries [0, 2)
  // are parameters, entry 3 a buffer held by both.
  auto merged = torch::tensor({2.0f, 4.0f, 7.0f, 1.0f});
  const auto origin = torch::tensor({1.0f, 3.0f, 7.0f, 0.0f});
  const auto count = torch::tensor({2.0, 1.0, 0.0, 2.0}, torch::kFloat64);
  auto hs = torch::tensor({0.0f, 0.1f, 0.3f, 0.0f});
  feddyn_server_step(merged, origin, count, hs, alpha, 4, 2);
  // h ← h − α·count/N·(avg − origin): {−0.05, 0.1 − 0.025, 0.3 (uncovered), −0.05}
  CHECK(torch::allclose(hs, torch::tensor({-0.05f, 0.075f, 0.3f, -0.05f})));
  // θ ← avg − h/α on covered parameters; the uncovered entry and the buffer are left as averaged.
  CHECK(torch::allclose(merged, torch::tensor({2.5f, 3.25f, 7.0f, 1.0f})));
}

TEST_CASE("DepthFL: a device's submodel has a classifier after each level, and every classifier is charged", "[depthfl]") {
  const ModelSpec s = cnn_with_exits();  // 3 blocks: exits after blocks 1 and 2, its own after 3
  for (int depth = 1; depth <= 3; ++depth) {
    SubmodelSpec sub = scaled_submodel(s, depth / 3.0, Slicing::kDepth);
    REQUIRE(sub.depth == depth);
    for (int j = 1; j < depth; ++j) sub.exits.push_back(j);
    const ModelSpec arch = submodel_architecture(s, sub);
    auto global = build_network(s);
    torch::manual_seed(3);
    const auto flat = flatten_weights(*global);
    auto local = build_network(arch);
    load_weights(*local, extract_submodel(flat, gather_tensor(gather_index(s, sub))));
    global->eval(), local->eval();
    const auto x = torch::randn({4, 1, 28, 28});
    const auto mine = local->forward_exits(x), all = global->forward_exits(x);
    REQUIRE(static_cast<int>(mine.size()) == depth);
    // The same classifiers as the global model's first `depth` (the last is the model's own at full depth).
    for (int j = 0; j < depth; ++j) CHECK(torch::allclose(mine[j], all[depth == 3 ? j : j], 1e-5, 1e-6));
    TrainingShape every;
    every.all_exits = true;
    const SubmodelSpec single = scaled_submodel(s, depth / 3.0, Slicing::kDepth);
    const ModelSpec one = submodel_architecture(s, single);
    if (depth > 1) {
      CHECK(training_flops_per_sample(arch, every) > training_flops_per_sample(one));
      CHECK(training_memory(arch, 32, true, every).total() > training_memory(one, 32, true).total());
    }
  }
}

TEST_CASE("DepthFL: the prediction is the mean of the classifiers' logits", "[depthfl]") {
  const ModelSpec s = cnn_with_exits();
  torch::manual_seed(5);
  auto net = build_network(s);
  net->eval();
  const auto flat = flatten_weights(*net);
  const auto x = torch::randn({6, 1, 28, 28});
  // Independently: the depth-1 submodel (its exit head as classifier) and the full model's forward.
  const SubmodelSpec cut = scaled_submodel(s, 1.0 / 3, Slicing::kDepth);
  auto shallow = build_network(submodel_architecture(s, cut));
  load_weights(*shallow, extract_submodel(flat, gather_tensor(gather_index(s, cut))));
  shallow->eval();
  torch::NoGradGuard no_grad;
  const auto expected = (shallow->forward(x) + net->forward(x)) / 2;
  CHECK(torch::allclose(exit_average(net, x, {1, 3}), expected, 1e-5, 1e-6));
  CHECK(torch::allclose(exit_average(net, x, {3}), net->forward(x)));
  CHECK_THROWS_AS(exit_average(net, x, {4}), std::invalid_argument);
}

TEST_CASE("DepthFL's trainer: all classifiers trained, charged, and FedDyn's h_i kept as per-device state", "[depthfl]") {
  const ExperimentConfig c = load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=synthetic", "data.synthetic_channels=1", "data.synthetic_size=28", "data.train_samples=300",
       "data.test_samples=50", "devices.count=3", "devices.memory=estimated", "algorithm.name=depthfl",
       "model.early_exits=true", "algorithm.rates=1,0.5,0.25", "algorithm.depthfl_ramp_rounds=0"});
  const Experiment e = Experiment::build(c);
  DepthFL policy(e);
  const TaskPlan plan = policy.plan(1, 1);  // rate 0.5: 2 of 3 blocks, classifiers after blocks 1 and 2
  REQUIRE(plan.trainer == "depthfl");
  REQUIRE(plan.submodel->depth == 2);
  REQUIRE(plan.submodel->exits == std::vector<std::int32_t>{1});
  CHECK(plan.options.number("kd_weight", -1) == 1.0);
  CHECK(plan.options.number("feddyn_alpha", -1) == Approx(0.1));
  CHECK(policy.eval_rates() == std::vector<double>{1.0 / 3, 2.0 / 3, 1.0});
  CHECK(policy.evaluation_rule().average_exits == std::vector<int>{1, 2, 3});

  torch::manual_seed(9);
  const auto global = flatten_weights(*build_network(e.model));
  TaskOrder order;
  order.device = 1, order.round = 1, order.trainer = plan.trainer, order.options = plan.options;
  order.depth = plan.submodel->depth, order.exits = plan.submodel->exits;
  for (const auto& k : plan.submodel->kept) order.units.push_back(static_cast<std::int32_t>(k.size()));
  order.tensors["weights"] = extract_submodel(global, gather_tensor(gather_index(e.model, *plan.submodel)));
  TaskRunner runner(e, {1});
  const TaskResult first = runner.run(order);
  REQUIRE(first.status == TaskStatus::kOk);
  const ModelSpec arch = submodel_architecture(e.model, *plan.submodel);
  TrainingShape every;
  every.all_exits = true;
  const TaskResult plain = [&] {
    TaskOrder o = order;
    o.trainer = "sgd";
    return runner.run(o);
  }();
  CHECK(first.reference_compute_s ==
        Approx(plain.reference_compute_s * training_flops_per_sample(arch, every) / training_flops_per_sample(arch))
            .epsilon(1e-9));
  CHECK(first.memory_bytes > plain.memory_bytes);
  // The first exit head is trained (plain SGD through the last classifier leaves it as it was).
  std::int64_t offset = 0;
  bool head_moved = false, plain_moved = false;
  for (const auto& p : arch.parameters()) {
    std::int64_t size = 1;
    for (const auto& d : p.dims) size *= arch.extent(d);
    if (p.layer >= arch.blocks[0].exit_begin && p.layer < arch.blocks[0].exit_end) {
      const auto before = order.weights().narrow(0, offset, size);
      head_moved |= !torch::equal(first.weights.narrow(0, offset, size), before);
      plain_moved |= !torch::equal(plain.weights.narrow(0, offset, size), before);
    }
    offset += size;
  }
  CHECK(head_moved);
  CHECK(!plain_moved);
  const std::int64_t params = arch.parameter_count();
  REQUIRE(first.state.count("feddyn_h"));
  const auto h = first.state.at("feddyn_h");
  REQUIRE(h.numel() == params);
  // h_1 = 0 − α (θ − θ₀) over the parameters.
  const auto theta = first.weights.narrow(0, 0, params), theta0 = order.weights().narrow(0, 0, params);
  CHECK(torch::allclose(h, -0.1 * (theta - theta0), 1e-5, 1e-7));
  // Next task: with h_i as state, the linear term changes the result.
  TaskOrder next = order;
  next.tensors["feddyn_h"] = h;
  CHECK(!torch::equal(runner.run(next).weights, first.weights));
}
