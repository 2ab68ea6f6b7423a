#include "edgesim/device/clock.hpp"

#include <stdexcept>

#include "edgesim/common/error.hpp"

namespace edgesim {

ClockMode parse_clock_mode(const std::string& mode) {
  if (mode == "analytic") return ClockMode::kAnalytic;
  if (mode == "calibrated") return ClockMode::kCalibrated;
  if (mode == "measured") return ClockMode::kMeasured;
  if (mode == "realtime") return ClockMode::kRealtime;
  throw InputError("unknown clock mode '" + mode + "'");
}

double transfer_seconds(std::uint64_t bytes, double mbps, double latency_s) {
  return static_cast<double>(bytes) * 8.0 / (mbps * 1e6) + latency_s;
}

double calibrated_reference_seconds(const DeviceSet& set, const DeviceProfile& device, const ComputeWork& work) {
  double to_reference = 1.0;
  const ComputeProfile* p = compute_profile_of(set, device, &to_reference);
  if (!p) throw std::logic_error("calibrated clock without a compute profile for '" + device.name + "'");
  return p->seconds(work) * to_reference;
}

TaskTiming time_task(const DeviceProfile& d, double reference_compute_s, std::uint64_t bytes_down,
                     std::uint64_t bytes_up) {
  TaskTiming t;
  t.download_s = transfer_seconds(bytes_down, d.downlink_mbps, d.latency_s);
  t.compute_s = device_compute_seconds(d, reference_compute_s);
  t.upload_s = transfer_seconds(bytes_up, d.uplink_mbps, d.latency_s);
  return t;
}

}  // namespace edgesim
