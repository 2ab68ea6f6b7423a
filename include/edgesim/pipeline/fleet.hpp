#pragma once
// The devices a pipeline is planned on: their profiles (speed, memory cap) and their links,
// as the rest of edgesim sees them (device/profile.hpp, device/transfer.hpp). A device's id
// is its index.
//
// Compute: a device runs F FLOPs in F · slowdown / reference_flops_per_s seconds (the
// analytic clock, device/clock.hpp), plus op_overhead_s per op. Links: one uplink and one
// downlink per device, a transfer from a to b limited by a's uplink and b's downlink and
// delayed by the larger of their latencies (device/transfer.hpp); the server takes no part
// in a pipeline.
#include <vector>

#include "edgesim/device/profile.hpp"
#include "edgesim/device/transfer.hpp"

namespace edgesim {

struct Fleet {
  double reference_flops_per_s = 1e11;
  std::vector<DeviceProfile> devices;
  std::vector<LinkProfile> links;  // links_of(devices) unless given otherwise
  // Fixed seconds of every forward or backward op of a micro-batch on a device (kernel
  // launches, framework dispatch) [choice]. 0 = the analytic clock's model, linear in samples,
  // under which more and smaller micro-batches are never slower; a few ms makes the planner
  // weigh pipeline depth against per-op cost, as real boards do.
  double op_overhead_s = 0;

  Fleet() = default;
  Fleet(double reference_flops_per_s, std::vector<DeviceProfile> devices);

  int size() const { return static_cast<int>(devices.size()); }
  double seconds_for(int device, double flops) const {
    return flops * devices[device].slowdown / reference_flops_per_s;
  }
};

// Seconds to push `bytes` through a link of `mbps` megabits per second (no latency).
inline double link_seconds(double bytes, double mbps) { return bytes * 8.0 / (mbps * 1e6); }

}  // namespace edgesim
