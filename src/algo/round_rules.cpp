#include "edgesim/algo/round_rules.hpp"
#include "edgesim/model/aggregate.hpp"

#include <algorithm>
#include <cmath>

namespace edgesim {

std::vector<int> select_fraction(int num_devices, double fraction, std::uint64_t seed, int round) {
  std::vector<int> all(num_devices);
  for (int i = 0; i < num_devices; ++i) all[i] = i;
  const int k = std::clamp(static_cast<int>(std::lround(fraction * num_devices)), 1, num_devices);
  if (k == num_devices) return all;
  Rng rng(seed, Purpose::kSelection, static_cast<std::uint64_t>(round));
  rng.shuffle(all);
  all.resize(k);
  std::sort(all.begin(), all.end());
  return all;
}

double close_wait_all(double round_start, const std::vector<TaskResult>& tasks) {
  double end = round_start;
  for (const auto& t : tasks) end = std::max(end, t.end_s);
  return end;
}

double close_with_deadline(double round_start, double deadline_s, std::vector<TaskResult>& tasks) {
  const double deadline = round_start + deadline_s;
  double end = round_start;
  bool late = false;
  for (auto& t : tasks) {
    if (t.end_s > deadline) {
      // Cancelled at the deadline: the device stops where it is and uploads nothing, so it is
      // free for the next round and its wasted work shows up to the deadline only.
      late = true;
      if (t.status == TaskStatus::kOk) t.status = TaskStatus::kDropped;
      t.end_s = deadline;
      t.download_s = std::min(t.download_s, deadline - t.start_s);
      t.compute_s = std::clamp(deadline - t.start_s - t.download_s, 0.0, t.compute_s);
      t.upload_s = std::max(0.0, deadline - t.start_s - t.download_s - t.compute_s);  // cut short
      t.bytes_up = 0;
    } else {
      end = std::max(end, t.end_s);
    }
  }
  return late ? deadline : end;
}

void average_updates(torch::Tensor& global, const std::vector<const TaskResult*>& accepted, Weighting weighting) {
  if (accepted.empty()) return;
  CoverageAverage average(global.numel());
  for (const TaskResult* t : accepted)
    average.add(t->weights, t->gather, weighting == Weighting::kSamples ? static_cast<double>(t->local_samples) : 1.0);
  global = average.merged(global);
}

Weighting weighting_from_config(const std::string& value, Weighting published) {
  if (value == "samples") return Weighting::kSamples;
  if (value == "uniform") return Weighting::kUniform;
  return published;
}

}  // namespace edgesim
