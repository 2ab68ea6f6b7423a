#pragma once
// Emulated devices. A device set file (experiments/devices/*.toml) names a reference device
// with its sustained training throughput, a few profiles relative to it, and the list of
// profiles that make up the set:
//
//   [reference]  name = "...", flops_per_second = 2.0e11
//   [profiles.nano]  slowdown = 6.0, memory = "4GiB", uplink_mbps = 40, downlink_mbps = 40, latency_ms = 10
//   (memory needs a unit, see parse_bytes; or "unlimited")
//   [set]  devices = ["agx", "nano", ...]
//
// A profile may change speed during a run (thermal throttling, a co-located job):
//   [profiles.nano]  slowdown_schedule = ["21:12.0", "41:6.0"]   # "from round: slowdown"
// The clock charges round r with slowdown_at(r).
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace edgesim {

// `memory = "unlimited"`: a device without a memory cap. The cap is then the largest value the
// results file's int64 /devices.memory_cap_bytes column holds (2^63 - 1), above any footprint.
inline constexpr const char* kUnlimitedMemory = "unlimited";
inline constexpr std::uint64_t kNoMemoryCap = std::numeric_limits<std::int64_t>::max();

struct DeviceProfile {
  std::string name;
  double slowdown = 1.0;                // compute time relative to the reference device
  std::uint64_t memory_cap_bytes = 0;   // training footprint above this is an OOM
  double uplink_mbps = 100, downlink_mbps = 100;  // megabits per second
  double latency_s = 0.0;               // one-way, added to every transfer
  // (first round, slowdown) steps in ascending round order; before the first, `slowdown`.
  std::vector<std::pair<int, double>> slowdown_schedule;

  double slowdown_at(std::int64_t round) const;
  DeviceProfile at_round(std::int64_t round) const;  // this profile with slowdown_at(round)
};

struct DeviceSet {
  std::string source;
  std::string reference_name;
  double reference_flops_per_s = 0;
  std::vector<DeviceProfile> devices;  // in the order of [set].devices
};

// Throws InputError naming the file and key on unknown keys, missing profiles, bad values.
DeviceSet load_device_set(const std::string& path);

// `count` devices: the set's list, cycled when count exceeds it.
std::vector<DeviceProfile> expand_devices(const DeviceSet& set, int count);

}  // namespace edgesim
