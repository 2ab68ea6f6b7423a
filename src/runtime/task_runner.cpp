#include "edgesim/runtime/task_runner.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include "edgesim/device/cost.hpp"
#include "edgesim/device/memory_meter.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim {

TaskRunner::TaskRunner(const Experiment& e, const std::vector<int>& hosted_devices)
    : experiment_(e), clock_mode_(parse_clock_mode(e.config.clock.mode)), enforce_memory_(e.config.devices.memory == "enforced") {
  for (int d : hosted_devices) data_[d] = to_examples(e.train, e.partition.indices[d]);
  const auto& a = e.config.algorithm;
  recipe_ = {a.local_epochs, a.batch_size, a.lr, a.momentum, a.weight_decay};
  if (enforce_memory_) install_counting_allocator();
}

TaskResult TaskRunner::run(const TaskOrder& order) {
  const DeviceProfile& device = experiment_.devices.at(order.device);
  const Examples& data = data_.at(static_cast<int>(order.device));
  const ModelSpec arch = submodel_architecture(experiment_.model, order.units, order.depth);

  TaskResult r;
  r.device = order.device;
  r.round = order.round;
  r.local_samples = data.x.size(0);
  // FjORD's self-distillation (only with ordered dropout): a teacher and a student pass per step.
  const bool distill = order.objective.self_distillation && !order.dropout_rates.empty();
  {
    // Two passes keep two autograd graphs; a masked loss one more logits copy.
    const int passes = distill ? 2 : 1;
    std::uint64_t bytes = training_memory(arch, recipe_.batch_size, recipe_.momentum > 0, passes).total();
    if (order.objective.mask_absent_labels)
      bytes += 4ull * recipe_.batch_size * arch.num_classes * (arch.token_input ? arch.in_h : 1);
    r.memory_bytes = static_cast<std::int64_t>(bytes);
  }
  r.bytes_down = static_cast<std::uint64_t>(order.weights.numel()) * 4;
  // A task whose estimated footprint does not fit is refused before it starts.
  if (static_cast<std::uint64_t>(r.memory_bytes) > device.memory_cap_bytes) {
    r.status = TaskStatus::kOom;
    return r;
  }

  Rng rng(experiment_.config.run.seed, Purpose::kShuffle, order.device, order.round);
  const auto start = std::chrono::steady_clock::now();
  LocalResult local;
  SpecNet net{nullptr};
  // FjORD: each step trains a width drawn from the order's rates (ordered dropout); the
  // analytic clock charges every step the FLOPs of the width it used.
  struct Width {
    std::vector<int> units;
    double flops_per_sample;
  };
  std::vector<Width> widths;
  for (double p : order.dropout_rates) {
    ModelSpec narrow = arch;
    for (std::size_t g = 0; g < narrow.groups.size(); ++g)
      if (narrow.groups[g].sliceable)
        narrow.groups[g].units = std::min(arch.groups[g].units, kept_units(experiment_.model.groups[g].units, p));
    Width w{{}, training_flops_per_sample(narrow)};
    for (const auto& g : narrow.groups) w.units.push_back(g.units);
    widths.push_back(std::move(w));
  }
  Rng dropout_rng(experiment_.config.run.seed, Purpose::kDropout, order.device, order.round);
  double step_flops = 0;
  StepHook per_step;
  const Width* sampled = nullptr;  // this step's width
  const Width* p_max = widths.empty() ? nullptr : &widths.back();  // the device's whole submodel
  if (!widths.empty()) {
    per_step = [&](std::int64_t batch) {
      sampled = &widths[dropout_rng.below(widths.size())];
      if (!distill) net->set_active_units(sampled->units);
      // Distilling: the teacher pass at p_max, then the student pass unless it drew p_max.
      const double teacher = distill ? p_max->flops_per_sample : 0.0;
      const double student = distill && sampled == p_max ? 0.0 : sampled->flops_per_sample;
      step_flops += (teacher + student) * double(batch);
    };
  }
  // HeteroFL's masked cross-entropy: 1 for the classes (or tokens) the device holds.
  torch::Tensor present;
  if (order.objective.mask_absent_labels)
    present = torch::zeros({experiment_.model.num_classes}).index_fill_(0, std::get<0>(torch::_unique(data.y.flatten())), 1.0);
  auto logits = [&](SpecNet& n, const torch::Tensor& xb) {
    auto z = n->forward(xb);
    return present.defined() ? z * present : z;
  };
  // FjORD's self-distillation: the full submodel learns from the labels, the sampled width
  // from the full submodel's output (two forward passes, both charged to the clock).
  StepLoss step_loss = [&](SpecNet& n, const torch::Tensor& xb, const torch::Tensor& yb) {
    if (!distill) return classification_loss(logits(n, xb), yb);
    n->set_active_units({});
    const auto teacher = logits(n, xb);
    auto loss = classification_loss(teacher, yb);
    if (sampled != p_max) {
      n->set_active_units(sampled->units);
      loss = loss + distillation_loss(logits(n, xb), teacher);
    }
    return loss;
  };
  {
    // One that fits on paper but not in practice fails when an allocation crosses the cap.
    std::optional<MemoryScope> scope;
    if (enforce_memory_) scope.emplace(device.memory_cap_bytes);
    try {
      net = build_network(arch);  // inside the scope: the parameters are part of the footprint
      net->set_train_scale(order.train_scale);
      load_weights(*net, order.weights);
      LocalRecipe recipe = recipe_;
      recipe.bn_gamma_l1 = order.objective.bn_gamma_l1;
      local = train_locally(net, data.x, data.y, recipe, rng, per_step, step_loss);
    } catch (const std::exception& e) {
      if (!is_memory_cap_error(e)) throw;
      r.status = TaskStatus::kOom;
      r.peak_memory_bytes = static_cast<std::int64_t>(scope->peak_bytes());
      return r;
    }
    if (scope) r.peak_memory_bytes = static_cast<std::int64_t>(scope->peak_bytes());
  }
  const double measured_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  r.samples = local.samples;
  r.train_loss = local.mean_loss;
  r.weights = flatten_weights(*net);
  r.bytes_up = static_cast<std::uint64_t>(r.weights.numel()) * 4;
  if (clock_mode_ == ClockMode::kAnalytic) {
    const double flops = widths.empty() ? training_flops_per_sample(arch) * double(local.samples) : step_flops;
    r.reference_compute_s = flops / experiment_.device_set.reference_flops_per_s;
  } else {
    r.reference_compute_s = measured_s;
  }
  if (clock_mode_ == ClockMode::kRealtime) {
    // Make wall-clock time match the emulated device: the slower compute plus both transfers.
    const TaskTiming t = time_task(device.at_round(order.schedule_round()), measured_s, r.bytes_down, r.bytes_up);
    std::this_thread::sleep_for(std::chrono::duration<double>(t.total_s() - measured_s));
  }
  return r;
}

}  // namespace edgesim
