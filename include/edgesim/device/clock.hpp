#pragma once
// How long a device task takes in virtual time:
//   download = bytes_down / downlink + latency
//   compute  = reference compute seconds × slowdown
//   upload   = bytes_up / uplink + latency
// The reference compute seconds come from the clock mode: `analytic` = training FLOPs /
// the reference device's throughput (deterministic); `calibrated` = the task's work priced op
// by op by the device's compute profile (deterministic; device/compute_profile.hpp);
// `measured` and `realtime` = the
// host's measured seconds for the same steps (the host stands in for the reference).
#include <cstdint>
#include <string>

#include "edgesim/device/profile.hpp"

namespace edgesim {

enum class ClockMode { kAnalytic, kCalibrated, kMeasured, kRealtime };
ClockMode parse_clock_mode(const std::string& mode);

struct TaskTiming {
  double download_s = 0, compute_s = 0, upload_s = 0;
  double comm_s() const { return download_s + upload_s; }
  double total_s() const { return download_s + compute_s + upload_s; }
};

double transfer_seconds(std::uint64_t bytes, double mbps, double latency_s);

// The calibrated clock's reference seconds of `work` on `device`: priced by the compute profile
// that compute_profile_of names for it, times its factor. Throws std::logic_error if none does.
double calibrated_reference_seconds(const DeviceSet& set, const DeviceProfile& device, const ComputeWork& work);
// Reference compute seconds on `device`: × its slowdown (every clock mode, tasks and pipeline ops).
inline double device_compute_seconds(const DeviceProfile& device, double reference_compute_s) {
  return reference_compute_s * device.slowdown;
}

// A task that trains: download, compute, upload.
TaskTiming time_task(const DeviceProfile& device, double reference_compute_s,
                     std::uint64_t bytes_down, std::uint64_t bytes_up);

}  // namespace edgesim
