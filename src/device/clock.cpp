#include "edgesim/device/clock.hpp"

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

TaskTiming time_task(const DeviceProfile& d, double reference_compute_s, std::uint64_t bytes_down,
                     std::uint64_t bytes_up) {
  TaskTiming t;
  t.download_s = transfer_seconds(bytes_down, d.downlink_mbps, d.latency_s);
  t.compute_s = reference_compute_s * d.slowdown;
  t.upload_s = transfer_seconds(bytes_up, d.uplink_mbps, d.latency_s);
  return t;
}

}  // namespace edgesim
