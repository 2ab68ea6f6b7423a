#include "edgesim/runtime/task_clock.hpp"

#include "edgesim/device/clock.hpp"
#include "edgesim/device/cost.hpp"

namespace edgesim {

void apply_clock(const Experiment& e, double round_start, std::int64_t round, std::vector<TaskResult>& tasks) {
  for (auto& t : tasks) {
    const DeviceProfile d = e.devices[t.device].at_round(round);
    TaskTiming timing = time_task(d, t.reference_compute_s, t.bytes_down, t.bytes_up);
    if (t.status == TaskStatus::kOom) timing.compute_s = timing.upload_s = 0;  // fails on arrival
    t.start_s = round_start;
    t.download_s = timing.download_s;
    t.compute_s = timing.compute_s;
    t.upload_s = timing.upload_s;
    t.end_s = round_start + timing.total_s();
  }
}

double predicted_duration(const Experiment& e, const TaskOrder& o, std::int64_t round) {
  const auto& a = e.config.algorithm;
  const DeviceProfile device = e.devices.at(o.device).at_round(round);
  const std::uint64_t bytes = static_cast<std::uint64_t>(o.weights.numel()) * 4;
  if (training_memory(e.model, a.batch_size, a.momentum > 0).total() > device.memory_cap_bytes)
    return transfer_seconds(bytes, device.downlink_mbps, device.latency_s);  // refused on arrival
  const double samples = double(a.local_epochs) * double(e.partition.indices.at(o.device).size());
  const double reference_s = training_flops_per_sample(e.model) * samples / e.device_set.reference_flops_per_s;
  return time_task(device, reference_s, bytes, bytes).total_s();
}

}  // namespace edgesim
