#include "edgesim/pipeline/exhaustive_planner.hpp"

#include <algorithm>

namespace edgesim {
namespace {

// Calls f(bounds) for every 0 = b_0 < b_1 < ... < b_S = units.
template <class F>
void for_each_cut(int units, int stages, std::vector<int>& bounds, F&& f) {
  const int placed = static_cast<int>(bounds.size()) - 1;  // stages closed so far
  if (placed == stages - 1) {
    bounds.push_back(units);
    f(bounds);
    bounds.pop_back();
    return;
  }
  for (int b = bounds.back() + 1; b <= units - (stages - 1 - placed); ++b) {
    bounds.push_back(b);
    for_each_cut(units, stages, bounds, f);
    bounds.pop_back();
  }
}

}  // namespace

std::optional<PlannedPipeline> plan_exhaustive(const LayerProfile& profile, const Fleet& fleet,
                                               const PlannerOptions& o) {
  const int n = fleet.size(), units = profile.size();
  int max_stages = std::min(units, n);
  if (o.max_stages > 0) max_stages = std::min(max_stages, o.max_stages);
  std::optional<PlannedPipeline> best;
  for (int m : micro_batch_counts(o))
    for (int stages = 1; stages <= max_stages; ++stages) {
      std::vector<int> bounds{0};
      for_each_cut(units, stages, bounds, [&](const std::vector<int>& cut) {
        std::vector<int> stage_of(n, -1);  // -1: idle; counts in base stages + 1
        long long assignments = 1;
        for (int d = 0; d < n; ++d) assignments *= stages + 1;
        for (long long a = 0; a < assignments; ++a) {
          long long code = a;
          for (int d = 0; d < n; ++d) stage_of[d] = static_cast<int>(code % (stages + 1)) - 1, code /= stages + 1;
          Plan plan;
          plan.micro_batch = o.batch_size / m, plan.micro_batches = m;
          bool ok = true;
          for (int p = 0; p < stages && ok; ++p) {
            StagePlan s;
            s.begin = cut[p], s.end = cut[p + 1];
            for (int d = 0; d < n; ++d)
              if (stage_of[d] == p) s.devices.push_back(d);
            if (s.devices.empty()) { ok = false; break; }
            s.shares = split_stage(profile, fleet, s.begin, s.end, s.devices, plan.micro_batch,
                                   std::min(stages - p, m), o.momentum, o.split);
            ok = !s.shares.empty();
            plan.stages.push_back(std::move(s));
          }
          if (!ok) continue;
          const double t = iteration_time(plan, profile, fleet);
          if (!best || t < best->iteration_s) {
            best = PlannedPipeline{};
            best->planner = "exhaustive";
            best->plan = std::move(plan);
            best->iteration_s = t;
          }
        }
      });
    }
  return best;
}

}  // namespace edgesim
