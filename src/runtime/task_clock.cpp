#include "edgesim/runtime/task_clock.hpp"

#include <algorithm>

#include "edgesim/device/clock.hpp"

namespace edgesim {

std::vector<Transfer> task_downloads(const TaskPlan& plan, int device, std::uint64_t bytes_down) {
  if (!plan.downloads.empty() || plan.serverless) return plan.downloads;
  return {Transfer{kServer, device, bytes_down}};
}

std::vector<Transfer> task_uploads(const TaskPlan& plan, int device, std::uint64_t bytes_up) {
  if (!plan.uploads.empty() || plan.serverless) return plan.uploads;
  return {Transfer{device, kServer, bytes_up}};
}

double download_seconds(const std::vector<Transfer>& downloads, const std::vector<LinkProfile>& links) {
  double longest = 0;
  for (const TransferTiming& t : time_transfers(downloads, links, 0.0)) longest = std::max(longest, t.duration_s);
  return longest;
}

namespace {

// What the task costs before its transfers are timed: its bytes (a serverless task's traffic is
// its peer transfers, not a copy of its (sub)model each way) and its compute.
void start_task(const Experiment& e, const TaskPlan& plan, double start_s, std::int64_t clock_round, TaskResult& t) {
  t.transfers.clear();
  t.start_s = start_s;
  if (plan.serverless) {
    t.bytes_down = t.bytes_up = 0;
    for (const Transfer& x : plan.downloads) t.bytes_down += x.bytes;
    if (t.status != TaskStatus::kOom)
      for (const Transfer& x : plan.uploads) t.bytes_up += x.bytes;
  }
  t.download_s = t.compute_s = t.upload_s = 0;
  if (t.status != TaskStatus::kOom)  // one refused for memory fails on arrival
    t.compute_s = time_task(e.devices[t.device].at_round(clock_round), t.reference_compute_s, 0, 0).compute_s;
}

// One phase (downloads or uploads) of several tasks, each phase starting at starts[k], timed
// together; sets each task's phase seconds (`field`) and appends its transfer records.
void time_phase_together(const std::vector<std::vector<Transfer>>& phase, const std::vector<double>& starts,
                         const std::vector<LinkProfile>& links, TransferKind kind, const std::vector<TaskResult*>& tasks,
                         double TaskResult::*field) {
  std::vector<Transfer> all;
  std::vector<double> at;
  std::vector<std::size_t> owner;
  for (std::size_t k = 0; k < phase.size(); ++k)
    for (const Transfer& x : phase[k]) all.push_back(x), at.push_back(starts[k]), owner.push_back(k);
  const auto timings = time_transfers(all, at, links);
  for (std::size_t i = 0; i < all.size(); ++i) {
    TaskResult& t = *tasks[owner[i]];
    t.*field = std::max(t.*field, timings[i].duration_s);
    t.transfers.push_back({0, all[i].source, all[i].destination, static_cast<std::int64_t>(all[i].bytes),
                           timings[i].start_s, timings[i].end_s, kind});
  }
}

}  // namespace

void apply_clock_together(const Experiment& e, const std::vector<LinkProfile>& links,
                          const std::vector<const TaskPlan*>& plans, const std::vector<double>& starts,
                          const std::vector<std::int64_t>& clock_rounds, const std::vector<TaskResult*>& tasks) {
  const std::size_t n = tasks.size();
  std::vector<std::vector<Transfer>> downloads(n), uploads(n);
  std::vector<double> upload_starts(n);
  for (std::size_t k = 0; k < n; ++k) {
    TaskResult& t = *tasks[k];
    start_task(e, *plans[k], starts[k], clock_rounds[k], t);
    downloads[k] = task_downloads(*plans[k], static_cast<int>(t.device), t.bytes_down);
  }
  time_phase_together(downloads, starts, links, TransferKind::kDownload, tasks, &TaskResult::download_s);
  for (std::size_t k = 0; k < n; ++k) {
    TaskResult& t = *tasks[k];
    if (t.status != TaskStatus::kOom) uploads[k] = task_uploads(*plans[k], static_cast<int>(t.device), t.bytes_up);
    upload_starts[k] = starts[k] + t.download_s + t.compute_s;
  }
  time_phase_together(uploads, upload_starts, links, TransferKind::kUpload, tasks, &TaskResult::upload_s);
  for (TaskResult* t : tasks) t->end_s = t->start_s + (t->download_s + t->compute_s + t->upload_s);
}

void apply_clock(const Experiment& e, const std::vector<LinkProfile>& links, const TaskPlan& plan, double start_s,
                 std::int64_t clock_round, TaskResult& t) {
  apply_clock_together(e, links, {&plan}, {start_s}, {clock_round}, {&t});
}

}  // namespace edgesim
