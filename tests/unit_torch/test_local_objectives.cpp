// Terms a policy adds to a device's local loss, run through the real TaskRunner: HeteroFL's
// masked cross-entropy leaves the classifier rows of classes a device lacks untouched, and
// FjORD's self-distillation trains with a second (full-width) pass that the clock charges.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <set>

#include "edgesim/io/config.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"
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
  order.weights = flatten_weights(*build_network(e.model));
  return order;
}

}  // namespace

TEST_CASE("masked cross-entropy: a device leaves the classifier rows of its absent classes untouched", "[objective]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {0});
  TaskOrder order = fresh_order(e, 0, 1, 1);
  std::set<int> present;
  for (auto i : e.partition.indices[0]) present.insert(e.train.images.labels[i]);
  REQUIRE(present.size() < 10);
  const auto before = classifier(e.model, order.weights);

  auto changed_rows = [&](bool masked) {
    order.objective.mask_absent_labels = masked;
    const auto after = classifier(e.model, runner.run(order).weights);
    std::set<int> changed;
    for (int c = 0; c < 10; ++c)
      if (!torch::equal(after[c], before[c])) changed.insert(c);
    return changed;
  };
  CHECK(changed_rows(true) == present);
  order.objective.mask_absent_labels = true;
  const auto masked_bytes = runner.run(order).memory_bytes;
  order.objective.mask_absent_labels = false;
  CHECK(masked_bytes == runner.run(order).memory_bytes + 4 * 32 * 10);  // one more [batch, classes] logits copy
  CHECK(changed_rows(false).size() == 10);  // plain CE pushes every absent class down
}

TEST_CASE("self-distillation: the sampled width learns from the full submodel, charged as two passes", "[objective]") {
  const Experiment e = shard_experiment();
  TaskRunner runner(e, {1});
  TaskOrder order = fresh_order(e, 1, 3, 2);
  order.dropout_rates = {0.25, 0.5, 1.0};
  const TaskResult plain = runner.run(order);
  order.objective.self_distillation = true;
  const TaskResult distilled = runner.run(order);
  TaskOrder full_width = order;
  full_width.dropout_rates.clear();
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

TEST_CASE("distillation loss: KL(teacher ‖ student), zero when they agree, no gradient to the teacher", "[objective]") {
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
