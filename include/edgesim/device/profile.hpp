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
//
// The calibrated clock (`clock.mode = "calibrated"`) prices compute with compute profiles
// (device/compute_profile.hpp), paths relative to the set's file:
//   [reference]  compute_profile = "profiles/agx-xavier.toml"
//   [profiles.nano]  compute_profile = "profiles/nano.toml"   # else: the reference's × slowdown
// A profile with its own compute profile is not scaled by `slowdown` (that is its speed under the
// analytic clock); a slowdown_schedule still throttles it by slowdown_at(r) / slowdown.
//   [profiles.nano-5w]  compute_profile = "profiles/nano.toml", profile_slowdown = 1.45
// prices a class as its profile × profile_slowdown (a power mode or throttled clocks).
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "edgesim/device/compute_profile.hpp"

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
  int compute_profile = -1;  // index into DeviceSet::compute_profiles; -1 = the reference's
  double profile_slowdown = 1.0;  // compute time relative to its own compute profile

  double slowdown_at(std::int64_t round) const;
  DeviceProfile at_round(std::int64_t round) const;  // this profile with slowdown_at(round)
};

struct DeviceSet {
  std::string source;
  std::string reference_name;
  double reference_flops_per_s = 0;
  std::vector<DeviceProfile> devices;  // in the order of [set].devices
  std::vector<ComputeProfile> compute_profiles;  // loaded from the files the set names
  int reference_compute_profile = -1;            // -1: none named
};

// The compute profile that prices `device`'s work (nullptr: none, only the analytic clock works),
// and the factor that turns its seconds into reference seconds (what the clock multiplies by the
// device's slowdown): 1 / slowdown for a device priced by its own profile, else 1.
const ComputeProfile* compute_profile_of(const DeviceSet& set, const DeviceProfile& device, double* to_reference);

// Throws InputError naming the file and key on unknown keys, missing profiles, bad values.
DeviceSet load_device_set(const std::string& path);

// `count` devices: the set's list, cycled when count exceeds it.
std::vector<DeviceProfile> expand_devices(const DeviceSet& set, int count);

}  // namespace edgesim
