// Pipeline execution (issue 13): one 1F1B iteration over S stages and M micro-batches gives the
// weights one process gets by accumulating gradients over the same micro-batches and stepping
// once — CNN, ResNet-18 cut inside a residual block, and the Transformer with its tied head in
// another stage than the embedding; the virtual time is the 1F1B schedule's; a device over its
// cap makes the iteration oom.
#include "model_support.hpp"

#include <numeric>

#include "edgesim/model/stage.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/runtime/pipeline_executor.hpp"
#include "edgesim/runtime/stage_link.hpp"

using namespace edgesim;

namespace {

constexpr std::uint64_t kPlenty = std::uint64_t(1) << 40;

Fleet test_fleet(int n) {
  std::vector<DeviceProfile> d(n);
  for (int i = 0; i < n; ++i) {
    d[i].slowdown = 1.0 + i, d[i].memory_cap_bytes = kPlenty;
    d[i].uplink_mbps = 100 + 50 * i, d[i].downlink_mbps = 200, d[i].latency_s = 0.001 * i;
  }
  return Fleet(1e11, d);
}

StagePlan stage(int begin, int end, std::vector<int> devices, std::vector<int> shares) {
  return {begin, end, std::move(devices), std::move(shares)};
}

const SgdSettings kSgd{0.05, 0.9, 1e-4};

// One process: for each micro-batch, and each chunk of it (`chunks`: sample counts summing to
// the micro-batch; one chunk = the whole micro-batch), loss(chunk) · |chunk| / batch, backward;
// then one step. With one chunk this is (mean loss of the micro-batch) / M accumulated.
torch::Tensor reference_step(const ModelSpec& spec, const SpecNet& initial, const torch::Tensor& x,
                             const torch::Tensor& y, int micro_batches, const std::vector<int>& chunks) {
  SpecNet net = build_network(spec);
  load_weights(*net, flatten_weights(*initial));
  net->train();
  torch::optim::SGD opt(net->parameters(),
                        torch::optim::SGDOptions(kSgd.lr).momentum(kSgd.momentum).weight_decay(kSgd.weight_decay));
  opt.zero_grad();
  const std::int64_t batch = x.size(0), mb = batch / micro_batches;
  for (int m = 0; m < micro_batches; ++m) {
    std::int64_t at = m * mb;
    for (int c : chunks) {
      const auto loss = classification_loss(net->forward(x.narrow(0, at, c)), y.narrow(0, at, c));
      (loss * (static_cast<double>(c) / batch)).backward();
      at += c;
    }
  }
  opt.step();
  return flatten_weights(*net);
}

struct Outcome {
  torch::Tensor before, pipeline, reference;
  PipelineIteration iteration;
};

Outcome compare(const ModelSpec& spec, const Plan& plan, const std::vector<int>& chunks, std::uint64_t seed) {
  torch::manual_seed(seed);
  SpecNet initial = build_network(spec);
  const int batch = plan.batch();
  const torch::Tensor x = test::sample_input(spec, batch);
  const torch::Tensor y = spec.token_input ? torch::randint(0, spec.num_classes, {batch, spec.in_h}, torch::kInt64)
                                           : torch::randint(0, spec.num_classes, {batch}, torch::kInt64);
  const LayerProfile profile = profile_layers(spec, CutPoints::kLayers);
  const Fleet fleet = test_fleet(4);
  Outcome o;
  o.before = flatten_weights(*initial);
  PipelineExecutor exec(spec, profile, plan, fleet, kSgd, initial);
  o.iteration = exec.run_iteration(x, y);
  SpecNet after = build_network(spec);
  load_weights(*after, o.before);
  exec.copy_into(after);
  o.pipeline = flatten_weights(*after);
  o.reference = reference_step(spec, initial, x, y, plan.micro_batches, chunks);
  return o;
}

// Parameters only: the first parameter_count() floats of the flat buffer.
torch::Tensor params(const ModelSpec& spec, const torch::Tensor& flat) { return flat.narrow(0, 0, spec.parameter_count()); }

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// A cut inside a residual block: after its first layer, so its input (the shortcut) crosses too.
int cut_inside_block(const ModelSpec& spec, int block) { return spec.blocks.at(block).begin + 1; }

}  // namespace

// The stated tolerance: after one step with lr 0.05, every weight within 2e-6 of the reference
// (float32 sums in a different order); the step itself moves weights by far more (checked).
constexpr double kTolerance = 2e-6;

TEST_CASE("pipeline stage: a cut inside a residual block carries the shortcut", "[pipeline_exec]") {
  const ModelSpec resnet = make_resnet18(3, 32, 10, 0.125, false);
  const int cut = cut_inside_block(resnet, 2);
  CHECK(crossing_tensors(resnet, cut).size() == 2);
  StageNet a(resnet, 0, cut), b(resnet, cut, resnet.output() + 1);
  CHECK(a.outputs() == b.inputs());
  CHECK(b.is_last());
  torch::manual_seed(3);
  SpecNet whole = build_network(resnet);
  whole->eval();
  a.copy_from(whole), b.copy_from(whole);
  a.net()->eval(), b.net()->eval();
  const auto x = test::sample_input(resnet, 4);
  const auto staged = b.forward(a.forward({x}))[0];
  CHECK(max_diff(staged, whole->forward(x)) < 1e-5);
}

TEST_CASE("pipeline iteration = accumulated micro-batch gradients, one step: CNN", "[pipeline_exec]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);  // no BatchNorm: a multi-device stage is exact too
  Plan plan;
  plan.micro_batch = 8, plan.micro_batches = 4;
  plan.stages = {stage(0, 3, {0}, {8}), stage(3, 7, {1, 2}, {3, 5}), stage(7, cnn.output() + 1, {3}, {8})};
  const Outcome o = compare(cnn, plan, {8}, 11);
  REQUIRE_FALSE(o.iteration.oom);
  CHECK(max_diff(o.pipeline, o.before) > 1e-4);
  CHECK(max_diff(o.pipeline, o.reference) < kTolerance);
  CHECK(o.iteration.samples == 32);
  CHECK(std::isfinite(o.iteration.loss));
}

TEST_CASE("pipeline iteration = accumulated micro-batch gradients, one step: ResNet-18 cut inside blocks",
          "[pipeline_exec]") {
  const ModelSpec resnet = make_resnet18(3, 32, 10, 0.125, false);
  const int c1 = cut_inside_block(resnet, 1), c2 = cut_inside_block(resnet, 5), end = resnet.output() + 1;
  SECTION("one device per stage: BatchNorm sees each micro-batch's statistics in both; buffers compared too") {
    Plan plan;
    plan.micro_batch = 4, plan.micro_batches = 3;
    plan.stages = {stage(0, c1, {0}, {4}), stage(c1, c2, {1}, {4}), stage(c2, end, {2}, {4})};
    const Outcome o = compare(resnet, plan, {4}, 12);
    REQUIRE_FALSE(o.iteration.oom);
    CHECK(max_diff(o.pipeline, o.before) > 1e-4);
    CHECK(max_diff(o.pipeline, o.reference) < kTolerance);
  }
  SECTION("two devices per stage: BN sees each device's share, as the reference's chunks; parameters compared") {
    Plan plan;
    plan.micro_batch = 6, plan.micro_batches = 2;
    plan.stages = {stage(0, c1, {0, 1}, {2, 4}), stage(c1, end, {2, 3}, {2, 4})};
    const Outcome o = compare(resnet, plan, {2, 4}, 13);
    REQUIRE_FALSE(o.iteration.oom);
    CHECK(max_diff(params(resnet, o.pipeline), params(resnet, o.before)) > 1e-4);
    CHECK(max_diff(params(resnet, o.pipeline), params(resnet, o.reference)) < kTolerance);
  }
}

TEST_CASE("pipeline iteration = accumulated micro-batch gradients, one step: Transformer, tied head in another stage",
          "[pipeline_exec]") {
  const ModelSpec lm = make_transformer_lm(transformer_preset("tiny", 50, 12), 1.0);
  const LayerProfile profile = profile_layers(lm, CutPoints::kLayers);
  // Stages are unit ranges; no cut separates the positional table from its add.
  auto unit_at = [&](int layer) {
    for (int u = 0; u < profile.size(); ++u)
      if (profile.units[u].begin == layer) return u;
    FAIL("no unit starts at layer " << layer);
    return -1;
  };
  const int end = profile.size(), mid = unit_at(lm.blocks.at(1).begin);
  // The first stage is the embeddings: the tied head, in the last stage, holds a copy.
  const int first = unit_at(lm.blocks.at(0).begin);
  Plan plan;
  plan.micro_batch = 4, plan.micro_batches = 3;
  plan.stages = {stage(0, first, {0}, {4}), stage(first, mid, {1, 2}, {1, 3}), stage(mid, end, {3}, {4})};
  const Outcome o = compare(lm, plan, {4}, 14);
  REQUIRE_FALSE(o.iteration.oom);
  CHECK(max_diff(o.pipeline, o.before) > 1e-4);
  CHECK(max_diff(o.pipeline, o.reference) < kTolerance);
}

TEST_CASE("pipeline iteration: virtual time is the 1F1B schedule's, close to the planner's closed form", "[pipeline_exec]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  Plan plan;
  plan.micro_batch = 8, plan.micro_batches = 4;
  plan.stages = {stage(0, 3, {0}, {8}), stage(3, 7, {1, 2}, {3, 5}), stage(7, cnn.output() + 1, {3}, {8})};
  const Outcome o = compare(cnn, plan, {8}, 15);
  const LayerProfile profile = profile_layers(cnn, CutPoints::kLayers);
  const Fleet fleet = test_fleet(4);
  const Schedule1F1B s = schedule_1f1b(plan, profile, fleet);
  CHECK(o.iteration.time_s == s.makespan_s);
  const double predicted = iteration_time(plan, profile, fleet);
  INFO("executed " << o.iteration.time_s << " s, planner " << predicted << " s");
  CHECK(std::abs(o.iteration.time_s - predicted) <= 0.06 * predicted);
  // Every device records every one of its ops: 2M compute ops + one all-reduce, inside its stage's op.
  CHECK(o.iteration.ops.size() == 4 * (2 * 4 + 1));
  for (const PipelineOpRecord& r : o.iteration.ops) {
    CHECK(r.end_s >= r.start_s);
    CHECK(r.end_s <= s.makespan_s + 1e-12);
  }
  // The slower device of the shared stage (device 2: slowdown 3, 5 samples) ends its forwards last.
  double end1 = 0, end2 = 0;
  for (const PipelineOpRecord& r : o.iteration.ops)
    if (r.kind == PipelineOpKind::kForward && r.micro_batch == 0) {
      if (r.device == 1) end1 = r.end_s;
      if (r.device == 2) end2 = r.end_s;
    }
  CHECK(end2 > end1);
}

TEST_CASE("pipeline iteration: a device over its cap makes the iteration oom and nothing trains", "[pipeline_exec]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile profile = profile_layers(cnn, CutPoints::kLayers);
  Fleet fleet = test_fleet(2);
  Plan plan;
  plan.micro_batch = 4, plan.micro_batches = 2;
  plan.stages = {stage(0, 4, {0}, {4}), stage(4, cnn.output() + 1, {1}, {4})};
  fleet.devices[1].memory_cap_bytes = memory_of(plan, 1, 0, profile, true).total() - 1;
  torch::manual_seed(5);
  SpecNet initial = build_network(cnn);
  PipelineExecutor exec(cnn, profile, plan, fleet, kSgd, initial);
  const auto r = exec.run_iteration(test::sample_input(cnn, 8), torch::randint(0, 10, {8}, torch::kInt64));
  CHECK(r.oom);
  CHECK(r.oom_devices == std::vector<int>{1});
  SpecNet after = build_network(cnn);
  exec.copy_into(after);
  CHECK(max_diff(flatten_weights(*after), flatten_weights(*initial)) == 0);
}

TEST_CASE("stage messages: tensors, dtypes, shapes and undefined gradients survive encoding", "[pipeline_exec]") {
  const torch::Tensor f = torch::randn({3, 2, 4}), i = torch::arange(6, torch::kInt64).view({2, 3});
  const StageMessageKey key{StageMessageKind::kGradient, 2, 5, 1, 3};
  LocalStageLink link;
  const std::size_t sent = link.send(key, {f.narrow(0, 1, 2), torch::Tensor(), i});
  CHECK(sent > (2 * 2 * 4) * 4 + 6 * 8);  // the floats and integers, plus the header
  CHECK_THROWS_AS(link.receive({StageMessageKind::kActivation, 2, 5, 1, 3}, nullptr), std::logic_error);
  std::size_t got = 0;
  const std::vector<torch::Tensor> back = link.receive(key, &got);
  CHECK(got == sent);
  REQUIRE(back.size() == 3);
  CHECK(torch::equal(back[0], f.narrow(0, 1, 2)));
  CHECK_FALSE(back[1].defined());
  CHECK(back[2].scalar_type() == torch::kInt64);
  CHECK(torch::equal(back[2], i));
  CHECK_THROWS_AS(link.receive(key, nullptr), std::logic_error);  // taken once
}

TEST_CASE("pipeline iteration: metered replicas report their peaks and train bit-identically", "[pipeline_exec]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  Plan plan;
  plan.micro_batch = 8, plan.micro_batches = 2;
  plan.stages = {stage(0, 3, {0}, {8}), stage(3, 7, {1, 2}, {3, 5}), stage(7, cnn.output() + 1, {3}, {8})};
  torch::manual_seed(5);
  SpecNet initial = build_network(cnn);
  const torch::Tensor x = test::sample_input(cnn, 16), y = torch::randint(0, 10, {16}, torch::kInt64);
  const LayerProfile profile = profile_layers(cnn, CutPoints::kLayers);
  const Fleet fleet = test_fleet(4);
  PipelineExecutor plain(cnn, profile, plan, fleet, kSgd, initial), metered(cnn, profile, plan, fleet, kSgd, initial, true);
  for (int it = 0; it < 2; ++it) {
    const PipelineIteration a = plain.run_iteration(x, y), b = metered.run_iteration(x, y);
    REQUIRE_FALSE(b.oom);
    CHECK(a.loss == b.loss);
    CHECK(a.bytes_sent == b.bytes_sent);
    CHECK(a.bytes_sent > 0);
    CHECK(a.bytes_sent == a.bytes_received);
    REQUIRE(b.peak_bytes.size() == 4);
    for (std::size_t i = 0; i < 4; ++i) {
      CHECK(a.peak_bytes[i] == 0);
      CHECK(b.peak_bytes[i] > 0);
    }
  }
  SpecNet wa = build_network(cnn), wb = build_network(cnn);
  plain.copy_into(wa), metered.copy_into(wb);
  CHECK(torch::equal(flatten_weights(*wa), flatten_weights(*wb)));
}

namespace {

// Three iterations on plan `a`, against two on `a`, then the replicas rebuilt on plan `b` from a
// snapshot (pipeline recovery, pipeline/recovery.hpp) and the third there. `drop_momentum`:
// the snapshot without its momentum buffers (what a restore that forgot the optimizer gets).
double replanned_diff(const ModelSpec& spec, const Plan& a, const Plan& b, bool drop_momentum) {
  torch::manual_seed(21);
  SpecNet initial = build_network(spec);
  const int batch = a.batch();
  std::vector<torch::Tensor> xs, ys;
  for (int i = 0; i < 3; ++i) {
    xs.push_back(test::sample_input(spec, batch));
    ys.push_back(spec.token_input ? torch::randint(0, spec.num_classes, {batch, spec.in_h}, torch::kInt64)
                                  : torch::randint(0, spec.num_classes, {batch}, torch::kInt64));
  }
  const LayerProfile profile = profile_layers(spec, CutPoints::kLayers);
  const Fleet fleet = test_fleet(4);
  PipelineExecutor straight(spec, profile, a, fleet, kSgd, initial), moved(spec, profile, a, fleet, kSgd, initial);
  for (int i = 0; i < 3; ++i) straight.run_iteration(xs[i], ys[i]);
  for (int i = 0; i < 2; ++i) moved.run_iteration(xs[i], ys[i]);
  auto state = moved.snapshot({});
  if (drop_momentum)
    for (auto it = state.begin(); it != state.end();) it = it->first.rfind("momentum:", 0) == 0 ? state.erase(it) : ++it;
  moved.install(b, state);
  REQUIRE_FALSE(moved.run_iteration(xs[2], ys[2]).oom);
  SpecNet w1 = build_network(spec), w2 = build_network(spec);
  straight.copy_into(w1), moved.copy_into(w2);
  return max_diff(flatten_weights(*w1), flatten_weights(*w2));
}

}  // namespace

TEST_CASE("pipeline recovery: replicas rebuilt on another plan from a snapshot train on as if uninterrupted",
          "[pipeline_exec][recovery]") {
  // CNN: 3 stages (one of two devices) -> 2 stages on other devices, layers moved across the cut.
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const int out = cnn.output() + 1;
  Plan a, b;
  a.micro_batch = b.micro_batch = 8, a.micro_batches = b.micro_batches = 2;
  a.stages = {stage(0, 3, {0}, {8}), stage(3, 7, {1, 2}, {3, 5}), stage(7, out, {3}, {8})};
  b.stages = {stage(0, 5, {0, 3}, {4, 4}), stage(5, out, {2}, {8})};
  CHECK(replanned_diff(cnn, a, b, false) < kTolerance);
  // The momentum is part of the state: without it the third step differs.
  CHECK(replanned_diff(cnn, a, b, true) > 1e-4);
  // Transformer: the tied head's copy (another stage than the embedding) restored from the owner's weight and momentum.
  const ModelSpec lm = make_transformer_lm(transformer_preset("tiny", 50, 12), 1.0);
  const LayerProfile profile = profile_layers(lm, CutPoints::kLayers);
  int first = 0, mid = 0;
  for (int u = 0; u < profile.size(); ++u) {
    if (profile.units[u].begin == lm.blocks.at(0).begin) first = u;
    if (profile.units[u].begin == lm.blocks.at(1).begin) mid = u;
  }
  Plan c, d;
  c.micro_batch = d.micro_batch = 4, c.micro_batches = d.micro_batches = 2;
  c.stages = {stage(0, mid, {0}, {4}), stage(mid, profile.size(), {1}, {4})};
  d.stages = {stage(0, first, {2}, {4}), stage(first, profile.size(), {3}, {4})};
  CHECK(replanned_diff(lm, c, d, false) < kTolerance);
}

TEST_CASE("pipeline recovery: a stage's state from its backup is the one of its last take_backup",
          "[pipeline_exec][recovery]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  Plan plan;
  plan.micro_batch = 4, plan.micro_batches = 2;
  plan.stages = {stage(0, 3, {0}, {4}), stage(3, cnn.output() + 1, {1}, {4})};
  torch::manual_seed(5);
  SpecNet initial = build_network(cnn);
  const LayerProfile profile = profile_layers(cnn, CutPoints::kLayers);
  PipelineExecutor exec(cnn, profile, plan, test_fleet(2), kSgd, initial);
  const torch::Tensor x = test::sample_input(cnn, 8), y = torch::randint(0, 10, {8}, torch::kInt64);
  CHECK_THROWS_AS(exec.snapshot({1}), std::logic_error);  // no backup yet
  exec.run_iteration(x, y);
  exec.take_backup();
  const auto after1 = exec.snapshot({});
  exec.run_iteration(x, y);
  const auto now = exec.snapshot({}), mixed = exec.snapshot({1});
  REQUIRE(now.size() == after1.size());
  REQUIRE(mixed.size() == now.size());
  int stage1 = 0, momenta = 0;
  StageNet s1(cnn, profile.units[3].begin, cnn.output() + 1);
  const auto names = s1.source_names();
  for (const auto& [name, t] : mixed) {
    const std::string base = name.rfind("momentum:", 0) == 0 ? name.substr(9) : name;
    const bool in1 = std::find(names.begin(), names.end(), base) != names.end();
    momenta += name != base;
    if (in1) ++stage1;
    CHECK(torch::equal(t, in1 ? after1.at(name) : now.at(name)));
    if (in1 && t.is_floating_point() && t.numel() > 1) CHECK_FALSE(torch::equal(t, now.at(name)));
  }
  CHECK(stage1 > 0);
  CHECK(momenta > 0);
}

TEST_CASE("pipeline recovery: a backup's bytes count in its holder's footprint", "[pipeline_exec][recovery]") {
  const ModelSpec cnn = make_cnn(1, 28, 10, 1.0);
  const LayerProfile profile = profile_layers(cnn, CutPoints::kLayers);
  Fleet fleet = test_fleet(2);
  Plan plan;
  plan.micro_batch = 4, plan.micro_batches = 2;
  plan.stages = {stage(0, 4, {0}, {4}), stage(4, cnn.output() + 1, {1}, {4})};
  const std::uint64_t own1 = memory_of(plan, 1, 0, profile, true).total();
  fleet.devices[1].memory_cap_bytes = own1 + 1000;  // fits alone
  const PipelineIteration alone = frame_iteration(plan, profile, fleet, true, nullptr);
  CHECK_FALSE(alone.oom);
  const PipelineIteration fits = frame_iteration(plan, profile, fleet, true, nullptr, {0, 1000});
  CHECK_FALSE(fits.oom);
  CHECK(fits.estimated_bytes.at(1) == static_cast<std::int64_t>(own1 + 1000));
  CHECK(fits.estimated_bytes.at(0) == alone.estimated_bytes.at(0));
  const PipelineIteration over = frame_iteration(plan, profile, fleet, true, nullptr, {0, 1001});
  CHECK(over.oom);
  CHECK(over.oom_devices == std::vector<int>{1});
  // The metered peak too: a replica's peak plus its held bytes against the cap.
  PipelineIteration it = alone;
  std::vector<ReplicaReport> reports(2);
  reports[0].device = 0, reports[0].peak_memory_bytes = 10;
  reports[1].device = 1, reports[1].peak_memory_bytes = static_cast<std::int64_t>(own1);
  CHECK(judge_iteration(it, plan, fleet, reports, {0, 1000}));
  CHECK(it.peak_bytes.at(1) == static_cast<std::int64_t>(own1 + 1000));
  it = alone;
  CHECK_FALSE(judge_iteration(it, plan, fleet, reports, {0, 1001}));
  CHECK(it.oom_devices == std::vector<int>{1});
}
