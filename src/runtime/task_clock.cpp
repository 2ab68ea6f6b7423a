#include "edgesim/runtime/task_clock.hpp"

#include <algorithm>

#include "edgesim/device/clock.hpp"

namespace edgesim {
namespace {

// The phase's transfers, all starting at `start_s`; returns the phase's length.
double time_phase(const std::vector<Transfer>& transfers, const std::vector<LinkProfile>& links, double start_s,
                  TransferKind kind, std::vector<TransferRecord>* records) {
  double longest = 0;
  const auto timings = time_transfers(transfers, links, start_s);
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    longest = std::max(longest, timings[i].duration_s);
    if (records)
      records->push_back({0, transfers[i].source, transfers[i].destination, static_cast<std::int64_t>(transfers[i].bytes),
                          timings[i].start_s, timings[i].end_s, kind});
  }
  return longest;
}

}  // namespace

std::vector<Transfer> task_downloads(const TaskPlan& plan, int device, std::uint64_t bytes_down) {
  if (!plan.downloads.empty() || plan.serverless) return plan.downloads;
  return {Transfer{kServer, device, bytes_down}};
}

std::vector<Transfer> task_uploads(const TaskPlan& plan, int device, std::uint64_t bytes_up) {
  if (!plan.uploads.empty() || plan.serverless) return plan.uploads;
  return {Transfer{device, kServer, bytes_up}};
}

double download_seconds(const std::vector<Transfer>& downloads, const std::vector<LinkProfile>& links) {
  return time_phase(downloads, links, 0.0, TransferKind::kDownload, nullptr);
}

void apply_clock(const Experiment& e, const std::vector<LinkProfile>& links, const TaskPlan& plan, double start_s,
                 std::int64_t clock_round, TaskResult& t) {
  const int d = static_cast<int>(t.device);
  const DeviceProfile device = e.devices[d].at_round(clock_round);
  t.transfers.clear();
  t.start_s = start_s;
  if (plan.serverless) {  // the task's traffic is its peer transfers, not a copy of its (sub)model each way
    t.bytes_down = t.bytes_up = 0;
    for (const Transfer& x : plan.downloads) t.bytes_down += x.bytes;
    if (t.status != TaskStatus::kOom)
      for (const Transfer& x : plan.uploads) t.bytes_up += x.bytes;
  }
  t.download_s = time_phase(task_downloads(plan, d, t.bytes_down), links, start_s, TransferKind::kDownload, &t.transfers);
  t.compute_s = t.upload_s = 0;
  if (t.status != TaskStatus::kOom) {  // one refused for memory fails on arrival
    t.compute_s = time_task(device, t.reference_compute_s, 0, 0).compute_s;
    t.upload_s = time_phase(task_uploads(plan, d, t.bytes_up), links, start_s + t.download_s + t.compute_s,
                            TransferKind::kUpload, &t.transfers);
  }
  t.end_s = start_s + (t.download_s + t.compute_s + t.upload_s);
}

}  // namespace edgesim
