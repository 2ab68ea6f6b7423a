#pragma once
// The devices a pipeline is planned on: their profiles (speed, memory cap) and their links,
// as the rest of edgesim sees them (device/profile.hpp, device/transfer.hpp). A device's id
// is its index.
//
// Compute — the one place a pipeline op is priced (planner, 1F1B schedule, executor records,
// faults and recovery all ask the fleet), under either clock (device/clock.hpp):
// - analytic (no compute set): a device runs F FLOPs in F · slowdown / reference_flops_per_s
//   seconds, backward = 2 × forward, plus op_overhead_s per op; linear in the samples.
// - calibrated (`compute` set, clock.mode = "calibrated"): an op of device d on `share` samples
//   of units [begin, end) is the work of those units' layers on `share` samples
//   (LayerUnit::work_base + share · work_per_sample, device/compute_work.hpp), forward or
//   backward part, priced by d's compute profile and factor (compute_profile_of) × its slowdown,
//   exactly as a federated task's compute; affine in the samples (the kernels' fixed cost is
//   paid once per op, whatever the share). The optimizer step (profile's step + optimizer cost
//   of the stage's trainable floats and tensors) once per iteration, after the all-reduce.
//   op_overhead_s is not used (the config refuses it: the profile's kernel_seconds price ops).
// Links: one uplink and one downlink per device, a transfer from a to b limited by a's uplink
// and b's downlink and delayed by the larger of their latencies (device/transfer.hpp); the
// server takes no part in a pipeline.
#include <memory>
#include <vector>

#include "edgesim/device/profile.hpp"
#include "edgesim/device/transfer.hpp"
#include "edgesim/pipeline/layer_profile.hpp"

namespace edgesim {

enum class Pass { kForward, kBackward };

// One device's op: work seconds (∝ share under the analytic clock) plus a fixed overhead
// (op_overhead_s; 0 under the calibrated clock, whose per-op cost is inside `work`).
struct OpSeconds {
  double work = 0, overhead = 0;
};

// A stage's compute per micro-batch: its forward op (the slowest device's), forward + backward,
// and the optimizer step once per iteration (the slowest device's; 0 under the analytic clock).
struct StageCompute {
  double forward = 0, compute = 0, update = 0;
};

// Algorithm 1's view of a device in a stage (pipeline/stage_split.hpp): forward + backward of
// n samples takes fixed + n · per_sample seconds (fixed = 0 under the analytic clock).
struct SplitCost {
  double per_sample = 0, fixed = 0;
};

struct Fleet {
  double reference_flops_per_s = 1e11;
  std::vector<DeviceProfile> devices;
  std::vector<LinkProfile> links;  // links_of(devices) unless given otherwise
  // Fixed seconds of every forward or backward op of a micro-batch on a device (kernel
  // launches, framework dispatch) [choice], analytic clock only. 0 = the analytic clock's model,
  // linear in samples, under which more and smaller micro-batches are never slower; a few ms
  // makes the planner weigh pipeline depth against per-op cost, as real boards do.
  double op_overhead_s = 0;
  // The calibrated clock: the device set whose compute profiles price every device
  // (compute_profile_of; a device's compute_profile indexes it). Null: the analytic clock.
  std::shared_ptr<const DeviceSet> compute;

  Fleet() = default;
  Fleet(double reference_flops_per_s, std::vector<DeviceProfile> devices);

  int size() const { return static_cast<int>(devices.size()); }
  bool calibrated() const { return compute != nullptr; }
  // Analytic: seconds of `flops` FLOPs on `device`.
  double seconds_for(int device, double flops) const {
    return flops * devices[device].slowdown / reference_flops_per_s;
  }

  // Device d's forward or backward op on `share` samples of units [begin, end).
  OpSeconds op_seconds(const LayerProfile& profile, int device, int begin, int end, int share, Pass pass) const;
  // Device d's optimizer step for units [begin, end) and any tied copy they hold, once per iteration.
  double update_seconds(const LayerProfile& profile, int device, int begin, int end) const;
  // The stage's compute, each device at its own share.
  StageCompute stage_compute(const LayerProfile& profile, int begin, int end, const std::vector<int>& devices,
                             const std::vector<int>& shares) const;
  SplitCost split_cost(const LayerProfile& profile, int device, int begin, int end) const;
  // Whether two devices compute alike (the planner counts identical devices instead of naming them).
  bool same_compute(int a, int b) const;
  // The fleet of devices `ids` (renumbered 0..), with the same clock.
  Fleet subset(const std::vector<int>& ids) const;
};

// Seconds to push `bytes` through a link of `mbps` megabits per second (no latency).
inline double link_seconds(double bytes, double mbps) { return bytes * 8.0 / (mbps * 1e6); }

}  // namespace edgesim
