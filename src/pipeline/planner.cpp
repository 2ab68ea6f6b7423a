#include "edgesim/pipeline/planner.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <unordered_map>

#include "device_space.hpp"
#include "edgesim/common/units.hpp"

namespace edgesim {

using pipeline_detail::DeviceMove;
using pipeline_detail::DeviceSpace;

namespace {

// Partial cost of stages [j placed ones], from the back: see planner.hpp.
struct Label {
  double sum = 0;         // Σ compute + completed cuts' transfers (fill and drain)
  double bottleneck = 0;  // max of the same terms
  double round_trip = 0;  // max over placed stages of (their suffix's sum) / in-flight count
  double allreduce = 0;   // all-reduce tail: max over placed stages of A_p − (way back from p to here)
  double steady = 0;      // PipeDream's max(M·C_p + A_p, M·F_c, M·B_c)
  // The first placed stage's side of its input cut, completed by the next move.
  double in_receive = 0, in_send = 0, latency = 0;
  int prev = -1;          // label this one extends (-1: the empty pipeline)
  int begin = 0, end = 0; // the stage this label added
  std::vector<int> devices, shares;
};

struct StageEntry {
  bool fits = false;
  StageCost cost;
  std::vector<int> shares;
};

class DpPlanner {
 public:
  DpPlanner(const LayerProfile& p, const Fleet& f, const PlannerOptions& o, const DeviceSpace& s)
      : profile_(p), fleet_(f), opt_(o), space_(s), units_(p.size()) {
    max_stages_ = std::min(units_, f.size());
    if (o.max_stages > 0) max_stages_ = std::min(max_stages_, o.max_stages);
  }

  // The best plan with M micro-batches if its objective value is below `bound` (the best
  // found so far, with other M), and that value.
  std::optional<std::pair<Plan, double>> solve(int micro_batches, double bound) {
    bound_ = bound;
    M_ = micro_batches;
    micro_batch_ = opt_.batch_size / micro_batches;
    labels_.clear();
    cache_.clear();
    const int cells_per_layer = (units_ + 1) * space_.states;
    std::vector<std::vector<int>> cells(static_cast<std::size_t>(max_stages_ + 1) * cells_per_layer);
    auto cell = [&](int j, int u, int used) -> std::vector<int>& {
      return cells[static_cast<std::size_t>(j) * cells_per_layer + u * space_.states + used];
    };
    labels_.push_back(Label{});  // the empty pipeline, shared by every start
    for (int start : space_.starts) cell(0, units_, start).push_back(0);
    for (int j = 0; j < max_stages_; ++j)
      for (int u1 = 1; u1 <= units_; ++u1)
        for (int used = 0; used < space_.states; ++used) {
          const std::vector<int> here = cell(j, u1, used);
          if (here.empty()) continue;
          for (int u0 = 0; u0 < u1; ++u0)
            for (const DeviceMove& m : space_.moves[used]) {
              const StageEntry& e = stage(u0, u1, m, std::min(j + 1, M_));
              if (!e.fits) continue;
              for (int id : here) {
                Label l = extend(id, j, u0, u1, m, e);
                // Every term only grows as stages are prepended (the all-reduce tail stays
                // >= 0): a label that cannot beat the best complete plan is dropped.
                if (lower_bound(l) >= bound_) continue;
                if (u0 == 0) bound_ = std::min(bound_, value(l));
                insert(cell(j + 1, u0, m.next), std::move(l));
              }
            }
        }
    int best = -1;
    double best_value = 0;
    for (int j = 1; j <= max_stages_; ++j)
      for (int used = 0; used < space_.states; ++used)
        for (int id : cell(j, 0, used)) {
          const double v = value(labels_[id]);
          if (v < bound && (best < 0 || v < best_value)) best = id, best_value = v;
        }
    if (best < 0) return std::nullopt;
    Plan plan;
    plan.micro_batch = micro_batch_, plan.micro_batches = M_;
    for (int id = best; id > 0; id = labels_[id].prev) {
      const Label& l = labels_[id];
      plan.stages.push_back({l.begin, l.end, l.devices, l.shares});
    }
    return std::make_pair(plan, best_value);
  }

 private:
  const StageEntry& stage(int u0, int u1, const DeviceMove& m, int in_flight) {
    const long long key = ((static_cast<long long>(u0) * (units_ + 1) + u1) * space_.group_keys + m.group_key) *
                              (max_stages_ + 1) + in_flight;
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;
    StageEntry e;
    e.shares = split_stage(profile_, fleet_, u0, u1, m.devices, micro_batch_, in_flight, opt_.momentum, opt_.split);
    e.fits = !e.shares.empty();
    if (e.fits) e.cost = stage_cost(profile_, fleet_, u0, u1, m.devices, e.shares);
    return cache_.emplace(key, std::move(e)).first->second;
  }

  Label extend(int id, int j, int u0, int u1, const DeviceMove& m, const StageEntry& e) const {
    const Label& after = labels_[id];
    const StageCost& c = e.cost;
    Label l;
    l.prev = id, l.begin = u0, l.end = u1, l.devices = m.devices, l.shares = e.shares;
    l.sum = after.sum + c.compute;
    l.bottleneck = std::max(after.bottleneck, c.compute);
    l.steady = std::max(after.steady, M_ * c.compute + c.allreduce);
    double way_back = c.compute - c.forward;  // this stage's backward, then its input's gradient
    if (j > 0) {  // complete the cut between this stage and the one after it
      const double f = cut_seconds(c.out_send, after.in_receive, c.latency, after.latency);
      const double b = cut_seconds(after.in_send, c.out_receive, c.latency, after.latency);
      const double f_busy = cut_busy(c.out_send, after.in_receive), b_busy = cut_busy(after.in_send, c.out_receive);
      l.sum += f + b;
      way_back += b;
      l.bottleneck = std::max({l.bottleneck, f_busy, b_busy});
      l.steady = std::max({l.steady, M_ * f_busy, M_ * b_busy});
    }
    // The stages after this one finish earlier by the last backward's way back through this
    // one: their all-reduces overlap that much more of the drain.
    l.allreduce = std::max(c.allreduce, after.allreduce - way_back);
    l.round_trip = std::max(after.round_trip, l.sum / std::min(j + 1, M_));  // l.sum: this stage's round trip
    if (u0 > 0) l.in_receive = c.in_receive, l.in_send = c.in_send, l.latency = c.latency;
    return l;
  }

  // The components a label is compared on: the objective's, and the pending cut side.
  std::array<double, 7> key(const Label& l) const {
    if (opt_.objective == PlanObjective::kSteadyState) return {l.steady, 0, 0, 0, l.in_receive, l.in_send, l.latency};
    return {l.sum, l.bottleneck, l.round_trip, l.allreduce, l.in_receive, l.in_send, l.latency};
  }
  static bool dominates(const std::array<double, 7>& a, const std::array<double, 7>& b) {
    for (int i = 0; i < 7; ++i)
      if (a[i] > b[i]) return false;
    return true;
  }

  // Adds the label to a cell's Pareto set unless one there is at least as good everywhere.
  void insert(std::vector<int>& cell, Label l) {
    const auto k = key(l);
    for (int id : cell)
      if (dominates(key(labels_[id]), k)) return;
    cell.erase(std::remove_if(cell.begin(), cell.end(), [&](int id) { return dominates(k, key(labels_[id])); }),
               cell.end());
    labels_.push_back(std::move(l));
    cell.push_back(static_cast<int>(labels_.size()) - 1);
  }

  double lower_bound(const Label& l) const {
    if (opt_.objective == PlanObjective::kSteadyState) return l.steady;
    return l.sum + (M_ - 1) * std::max(l.bottleneck, l.round_trip);
  }

  double value(const Label& l) const {
    if (opt_.objective == PlanObjective::kSteadyState) return l.steady;
    return l.sum + (M_ - 1) * std::max(l.bottleneck, l.round_trip) + l.allreduce;
  }

  const LayerProfile& profile_;
  const Fleet& fleet_;
  const PlannerOptions& opt_;
  const DeviceSpace& space_;
  int units_, max_stages_ = 1, M_ = 1, micro_batch_ = 1;
  double bound_ = 0;
  std::vector<Label> labels_;
  std::unordered_map<long long, StageEntry> cache_;
};

DeviceSpace space_for(const Fleet& fleet, const PlannerOptions& o) {
  const bool subsets = o.grouping == DeviceGrouping::kSubsets ||
                       (o.grouping == DeviceGrouping::kAuto &&
                        pipeline_detail::subset_states(fleet) <= o.auto_subset_states);
  return subsets ? pipeline_detail::subsets_space(fleet) : pipeline_detail::sorted_runs_space(fleet);
}

}  // namespace

std::vector<int> micro_batch_counts(const PlannerOptions& o) {
  if (o.micro_batches > 0) {
    if (o.batch_size % o.micro_batches != 0)
      throw std::invalid_argument("pipeline planner: micro_batches must divide batch_size");
    return {o.micro_batches};
  }
  std::vector<int> counts;
  for (int m = 1; m <= std::min(o.batch_size, std::max(1, o.max_micro_batches)); ++m)
    if (o.batch_size % m == 0) counts.push_back(m);
  return counts;
}

std::optional<Plan> plan_by_dp(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options) {
  if (options.batch_size < 1) throw std::invalid_argument("pipeline planner: batch_size must be >= 1");
  if (fleet.size() == 0 || profile.size() == 0) return std::nullopt;
  const DeviceSpace space = space_for(fleet, options);
  std::optional<Plan> best;
  double best_value = 0;
  // Most micro-batches first: usually the fastest, so its bound prunes the other counts most.
  std::vector<int> counts = micro_batch_counts(options);
  std::reverse(counts.begin(), counts.end());
  for (int m : counts) {
    DpPlanner dp(profile, fleet, options, space);
    auto found = dp.solve(m, best ? best_value : std::numeric_limits<double>::infinity());
    if (found && (!best || found->second < best_value)) best = std::move(found->first), best_value = found->second;
  }
  return best;
}

std::uint64_t smallest_cap_needed(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options) {
  auto fits_with_floor = [&](std::uint64_t floor) {
    Fleet raised = fleet;
    for (DeviceProfile& d : raised.devices) d.memory_cap_bytes = std::max(d.memory_cap_bytes, floor);
    return plan_by_dp(profile, raised, options).has_value();
  };
  // Enough for anything: the whole model and batch on one device.
  std::uint64_t hi = stage_memory(profile, 0, profile.size(), options.batch_size, 1, options.momentum).total();
  if (!fits_with_floor(hi)) return hi;
  std::uint64_t lo = 0;  // lo does not fit, hi does
  while (hi - lo > 1) {
    const std::uint64_t mid = lo + (hi - lo) / 2;
    (fits_with_floor(mid) ? hi : lo) = mid;
  }
  return hi;
}

PlannedPipeline plan_asteroid(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options) {
  PlannerOptions o = options;
  o.split = SplitPolicy::kProportional;
  o.objective = PlanObjective::kFlush1F1B;
  std::optional<Plan> plan = plan_by_dp(profile, fleet, o);
  if (!plan) {
    const std::uint64_t cap = smallest_cap_needed(profile, fleet, o);
    throw PlanInfeasible("asteroid planner: no pipeline plan of " + profile.model + " (batch " +
                             std::to_string(o.batch_size) + ") fits the devices' memory; the smallest cap that admits "
                             "one is " + format_bytes(cap) + " (" + std::to_string(cap) +
                             " bytes): raise every device below it to at least that, or use a smaller batch",
                         cap);
  }
  PlannedPipeline out;
  out.planner = "asteroid";
  out.plan = *plan;
  out.iteration_s = iteration_time(out.plan, profile, fleet);
  return out;
}

}  // namespace edgesim
