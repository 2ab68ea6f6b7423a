#include "edgesim/pipeline/stage_split.hpp"

#include <algorithm>
#include <cmath>

namespace edgesim {
namespace {

bool splittable(int micro_batch, const std::vector<int>& max_share) {
  const int n = static_cast<int>(max_share.size());
  if (n == 0 || micro_batch < n) return false;
  long long room = 0;
  for (int c : max_share) {
    if (c < 1) return false;
    room += std::min(c, micro_batch);
  }
  return room >= micro_batch;
}

// Real-valued shares proportional to speed, water-filled under the caps.
std::vector<double> proportional_under_caps(int micro_batch, const std::vector<double>& t, const std::vector<int>& cap) {
  const int n = static_cast<int>(t.size());
  std::vector<double> x(n, 0);
  std::vector<bool> fixed(n, false);
  double left = micro_batch;
  for (;;) {
    double speed = 0;
    for (int d = 0; d < n; ++d)
      if (!fixed[d]) speed += 1.0 / t[d];
    bool capped = false;
    for (int d = 0; d < n; ++d)
      if (!fixed[d] && left * (1.0 / t[d]) / speed > cap[d]) {
        fixed[d] = true, x[d] = cap[d], left -= cap[d], capped = true;
      }
    if (!capped) {
      for (int d = 0; d < n; ++d)
        if (!fixed[d]) x[d] = left * (1.0 / t[d]) / speed;
      return x;
    }
  }
}

}  // namespace

std::vector<int> split_proportional(int micro_batch, const std::vector<double>& t, const std::vector<int>& cap,
                                    const std::vector<double>& fixed) {
  if (!splittable(micro_batch, cap)) return {};
  const int n = static_cast<int>(t.size());
  const std::vector<double> x = proportional_under_caps(micro_batch, t, cap);
  std::vector<int> share(n);
  int total = 0;
  for (int d = 0; d < n; ++d) {
    share[d] = std::clamp(static_cast<int>(std::floor(x[d] + 1e-9)), 1, cap[d]);
    total += share[d];
  }
  auto finish = [&](int d, int extra) { return (fixed.empty() ? 0.0 : fixed[d]) + (share[d] + extra) * t[d]; };
  // Whole samples: the ones rounding left over go where they finish first; a surplus (from the
  // one-sample minimum) leaves the device that finishes last.
  while (total < micro_batch) {
    int best = -1;
    for (int d = 0; d < n; ++d)
      if (share[d] < cap[d] && (best < 0 || finish(d, 1) < finish(best, 1))) best = d;
    ++share[best], ++total;
  }
  while (total > micro_batch) {
    int worst = -1;
    for (int d = 0; d < n; ++d)
      if (share[d] > 1 && (worst < 0 || finish(d, 0) > finish(worst, 0))) worst = d;
    --share[worst], --total;
  }
  // Rebalance from the slowest-finishing device to the one that would finish earliest.
  for (;;) {
    int slow = 0;
    for (int d = 1; d < n; ++d)
      if (finish(d, 0) > finish(slow, 0)) slow = d;
    if (share[slow] <= 1) break;
    int fast = -1;
    for (int d = 0; d < n; ++d)
      if (d != slow && share[d] < cap[d] && (fast < 0 || finish(d, 1) < finish(fast, 1))) fast = d;
    if (fast < 0 || finish(fast, 1) >= finish(slow, 0)) break;
    --share[slow], ++share[fast];
  }
  return share;
}

std::vector<int> split_equal(int micro_batch, const std::vector<int>& cap) {
  if (!splittable(micro_batch, cap)) return {};
  const int n = static_cast<int>(cap.size());
  std::vector<int> share(n, micro_batch / n);
  for (int d = 0; d < micro_batch % n; ++d) ++share[d];
  for (int d = 0; d < n; ++d)
    if (share[d] > cap[d]) return {};
  return share;
}

std::vector<int> split_micro_batch(SplitPolicy policy, int micro_batch, const std::vector<double>& t,
                                   const std::vector<int>& cap, const std::vector<double>& fixed) {
  return policy == SplitPolicy::kEqual ? split_equal(micro_batch, cap) : split_proportional(micro_batch, t, cap, fixed);
}

}  // namespace edgesim
