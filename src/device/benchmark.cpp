#include "edgesim/device/benchmark.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <utility>

#include <time.h>

#include "edgesim/common/rng.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/random_samples.hpp"
#include "edgesim/runtime/local_training.hpp"

namespace edgesim {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// This process's CPU time (all its threads; one intra-op thread trains).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

bool runs_alone(LayerKind k) {
  return k != LayerKind::kAdd && k != LayerKind::kTiedHead && k != LayerKind::kPositionalEmbedding &&
         k != LayerKind::kFlatten && k != LayerKind::kPatchTokens && k != LayerKind::kTakeClassToken;
}

// A model of the one layer, reading a tensor of the shape it reads inside `model`.
ModelSpec alone(const ModelSpec& model, const LayerSpec& layer) {
  ModelSpec s;
  s.name = model.name + "/" + layer.name;
  s.groups = model.groups;
  LayerSpec l = layer;
  l.inputs.clear();
  s.layers = {l};
  s.token_input = model.token_input;
  s.input_group = l.in_group >= 0 ? l.in_group : l.out_group;
  s.in_h = l.in_h, s.in_w = l.in_w;
  s.num_classes = model.num_classes;
  return s;
}

torch::Tensor input_for(const ModelSpec& model, const LayerSpec& l, int batch) {
  if (l.kind == LayerKind::kEmbedding) return torch::randint(l.vocab, {batch, l.in_h}, torch::kLong);
  const std::int64_t in = model.width(l.in_group >= 0 ? l.in_group : l.out_group);
  if (model.token_input || l.tokens_in) return torch::randn({batch, l.in_h, in});
  if (l.kind == LayerKind::kLayerNorm) return torch::randn({batch, in});  // a ViT's head, on the class token
  if (l.kind == LayerKind::kLinear) return torch::randn({batch, in * l.planes * l.out_h * l.out_w});
  return torch::randn({batch, in, l.in_h, l.in_w});
}

std::string shape_key(const ModelSpec& m, const LayerSpec& l, int batch) {
  const auto w = [&](int g) { return g >= 0 ? m.width(g) : -1; };
  return std::to_string(int(l.kind)) + ":" + std::to_string(w(l.in_group)) + ":" + std::to_string(w(l.out_group)) +
         ":" + std::to_string(w(l.inner_group)) + ":" + std::to_string(l.in_h) + "x" + std::to_string(l.in_w) + ":" +
         std::to_string(l.kernel) + "/" + std::to_string(l.stride) + ":" + std::to_string(l.planes) + ":" +
         std::to_string(batch);
}

}  // namespace

std::vector<LayerTiming> benchmark_layers(const ModelSpec& model, int batch, double min_seconds) {
  std::vector<LayerTiming> out;
  std::map<std::string, bool> seen;
  for (int i = 0; i <= model.output(); ++i) {
    const LayerSpec& layer = model.layers[i];
    OpClass c;
    if (!runs_alone(layer.kind) || !op_class_of(model, i, &c)) continue;
    if (seen[shape_key(model, layer, batch)]) continue;
    seen[shape_key(model, layer, batch)] = true;
    const ModelSpec one = alone(model, layer);
    SpecNet net = build_network(one);
    net->train();
    torch::Tensor x = input_for(model, layer, batch);
    if (x.is_floating_point()) x.requires_grad_(true);  // inside a network, its input's gradient is computed
    std::vector<double> fwd, bwd;
    const auto start = Clock::now();
    for (int rep = 0; rep < 200; ++rep) {
      net->zero_grad();
      if (x.grad().defined()) x.mutable_grad() = torch::Tensor();
      auto t0 = Clock::now();
      torch::Tensor y = net->forward(x);
      const double f = seconds_since(t0);
      const torch::Tensor g = torch::ones_like(y);
      t0 = Clock::now();
      torch::autograd::backward({y}, {g});
      const double b = seconds_since(t0);
      if (rep >= 2) fwd.push_back(f), bwd.push_back(b);  // two warm-up repeats
      if (fwd.size() >= 5 && seconds_since(start) > min_seconds) break;
    }
    LayerTiming t;
    t.label = model.name + ":" + layer.name + ":b" + std::to_string(batch);
    t.op_class = c;
    t.work = layer_work(model, i, batch);
    t.forward_s = median(fwd), t.backward_s = median(bwd);
    out.push_back(t);
  }
  return out;
}

namespace {

// A task's data and initial weights, made once; each run() builds the network, loads the weights
// and trains one epoch, inside the timed span, as the task runner does.
struct PreparedTask {
  ModelSpec arch;
  LocalRecipe recipe;
  torch::Tensor x, y, weights;

  PreparedTask(const ModelSpec& a, int batch, int samples) : arch(a) {
    RandomSamples data = random_samples(arch, samples);
    x = std::move(data.x), y = std::move(data.y);
    weights = flatten_weights(*build_network(arch));
    recipe.epochs = 1, recipe.batch_size = batch, recipe.momentum = 0.9;
  }
  // Wall and CPU seconds of one run.
  std::pair<double, double> run(int rep) const {
    Rng rng(1, Purpose::kShuffle, 0, static_cast<std::uint64_t>(rep));
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    SpecNet net = build_network(arch);
    load_weights(*net, weights);
    train_locally(net, x, y, recipe, rng);
    return {seconds_since(t0), cpu_seconds() - cpu0};
  }
};

}  // namespace

std::vector<TaskTiming> benchmark_tasks_interleaved(const std::vector<TaskShape>& shapes, int repeats) {
  std::vector<PreparedTask> tasks;
  tasks.reserve(shapes.size());
  for (const TaskShape& s : shapes) tasks.emplace_back(s.arch, s.batch, s.samples);
  for (const PreparedTask& t : tasks) t.run(0);  // warm-up
  const std::size_t n = tasks.size();
  std::vector<TaskTiming> times(n);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  for (int rep = 1; rep <= repeats; ++rep) {
    // Each round in a different order (a fixed shuffle per round), so no task is always timed
    // right after the same neighbour or at the same point of the round.
    Rng rng(1, Purpose::kShuffle, 1, static_cast<std::uint64_t>(rep));
    for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
    for (std::size_t i : order) {
      const auto [wall, cpu] = tasks[i].run(rep);
      times[i].wall_s.push_back(wall), times[i].cpu_s.push_back(cpu);
    }
  }
  return times;
}

}  // namespace edgesim
