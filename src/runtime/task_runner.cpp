#include "edgesim/runtime/task_runner.hpp"

#include <chrono>
#include <optional>
#include <thread>

#include "edgesim/device/memory_meter.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/trainer/trainer.hpp"

namespace edgesim {

TaskRunner::TaskRunner(const Experiment& e, const std::vector<int>& hosted_devices)
    : experiment_(e), clock_mode_(parse_clock_mode(e.config.clock.mode)), enforce_memory_(e.config.devices.memory == "enforced") {
  for (int d : hosted_devices) data_[d] = to_examples(e.train, e.partition.indices[d]);
  const auto& a = e.config.algorithm;
  recipe_ = {a.local_epochs, a.batch_size, a.lr, a.momentum, a.weight_decay};
  if (enforce_memory_) install_counting_allocator();
}

double TaskRunner::reference_seconds(const DeviceProfile& device, const ModelSpec& arch, const TrainerOutput& trained,
                                     double measured_s) const {
  switch (clock_mode_) {
    case ClockMode::kAnalytic:
      return trained.flops / experiment_.device_set.reference_flops_per_s;
    case ClockMode::kCalibrated: {
      ComputeWork work = trained.work;
      work += task_setup_work(arch);  // the network built and loaded below, inside the measured time too
      return calibrated_reference_seconds(experiment_.device_set, device, work);
    }
    case ClockMode::kMeasured:
    case ClockMode::kRealtime:
      return measured_s;
  }
  return measured_s;
}

TaskResult TaskRunner::run(const TaskOrder& order) {
  const DeviceProfile& device = experiment_.devices.at(order.device);
  const Examples& data = data_.at(static_cast<int>(order.device));
  const ModelSpec arch = submodel_architecture(experiment_.model, order.units, order.depth, order.exits);
  const Trainer& trainer = trainer_named(order.trainer);
  const TrainerInput in{experiment_.model, arch, recipe_, data, order, experiment_.config.run.seed};

  TaskResult r;
  r.device = order.device;
  r.round = order.round;
  r.local_samples = data.x.size(0);
  r.memory_bytes = static_cast<std::int64_t>(trainer.memory_bytes(in));
  r.bytes_down = static_cast<std::uint64_t>(order.weights().numel()) * 4;
  // A task whose estimated footprint does not fit is refused before it starts.
  if (static_cast<std::uint64_t>(r.memory_bytes) > device.memory_cap_bytes) {
    r.status = TaskStatus::kOom;
    return r;
  }

  const auto start = std::chrono::steady_clock::now();
  TrainerOutput trained;
  SpecNet net{nullptr};
  {
    // One that fits on paper but not in practice fails when an allocation crosses the cap.
    std::optional<MemoryScope> scope;
    if (enforce_memory_) scope.emplace(device.memory_cap_bytes);
    try {
      net = build_network(arch);  // inside the scope: the parameters are part of the footprint
      load_weights(*net, order.weights());
      trained = trainer.train(net, in);
    } catch (const std::exception& e) {
      if (!is_memory_cap_error(e)) throw;
      r.status = TaskStatus::kOom;
      r.peak_memory_bytes = static_cast<std::int64_t>(scope->peak_bytes());
      return r;
    }
    if (scope) r.peak_memory_bytes = static_cast<std::int64_t>(scope->peak_bytes());
  }
  const double measured_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  r.samples = trained.local.samples;
  r.train_loss = trained.local.mean_loss;
  r.weights = flatten_weights(*net);
  r.state = std::move(trained.state);
  r.bytes_up = static_cast<std::uint64_t>(r.weights.numel()) * 4;
  r.reference_compute_s = reference_seconds(device, arch, trained, measured_s);
  r.flops = trained.flops;
  if (clock_mode_ == ClockMode::kRealtime) {
    // Make wall-clock time match the emulated device: the slower compute plus both transfers.
    const TaskTiming t = time_task(device.at_round(order.schedule_round()), measured_s, r.bytes_down, r.bytes_up);
    std::this_thread::sleep_for(std::chrono::duration<double>(t.total_s() - measured_s));
  }
  return r;
}

}  // namespace edgesim
