#include "edgesim/pipeline/recovery.hpp"

#include <algorithm>
#include <map>
#include <utility>

namespace edgesim {
namespace {

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

double phase_seconds(const std::vector<Transfer>& transfers, const Fleet& fleet) {
  if (transfers.empty()) return 0;
  double end = 0;
  for (const TransferTiming& t : time_transfers(transfers, fleet.links, 0.0)) end = std::max(end, t.end_s);
  return end;
}

}  // namespace

std::uint64_t unit_state_bytes(const LayerProfile& profile, int unit, bool momentum) {
  const LayerUnit& u = profile.units.at(unit);
  return 4 * (u.parameters + u.buffers) + (momentum ? 4 * u.parameters : 0);
}

std::uint64_t stage_state_bytes(const LayerProfile& profile, int begin, int end, bool momentum) {
  std::uint64_t bytes = 0;
  for (int u = begin; u < end; ++u) bytes += unit_state_bytes(profile, u, momentum);
  return bytes;
}

std::vector<StageBackup> plan_backups(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum) {
  const int S = plan.num_stages();
  std::vector<StageBackup> out(S);
  if (S < 2) return out;
  std::vector<std::uint64_t> held(fleet.size(), 0);
  for (int p = 0; p < S; ++p) {
    const StagePlan& sp = plan.stages[p];
    out[p].bytes = stage_state_bytes(profile, sp.begin, sp.end, momentum);
    const int q = (p + 1) % S;
    const StagePlan& next = plan.stages[q];
    std::uint64_t best_room = 0;
    for (std::size_t i = 0; i < next.devices.size(); ++i) {
      const int d = next.devices[i];
      const std::uint64_t used = memory_of(plan, q, static_cast<int>(i), profile, momentum).total() + held[d];
      const std::uint64_t cap = fleet.devices[d].memory_cap_bytes;
      if (used > cap || cap - used < out[p].bytes) continue;
      const std::uint64_t room = cap - used;  // devices ascending: a tie keeps the lower id
      if (out[p].holder < 0 || room > best_room) out[p].holder = d, best_room = room;
    }
    if (out[p].holder >= 0) held[out[p].holder] += out[p].bytes;
  }
  return out;
}

std::vector<std::uint64_t> held_bytes(const std::vector<StageBackup>& backups, int num_devices) {
  std::vector<std::uint64_t> held(num_devices, 0);
  for (const StageBackup& b : backups)
    if (b.holder >= 0) held.at(b.holder) += b.bytes;
  return held;
}

double backup_seconds(const Plan& plan, const std::vector<StageBackup>& backups, const Fleet& fleet,
                      const std::vector<int>* stages) {
  std::vector<Transfer> transfers;
  for (int p = 0; p < plan.num_stages() && p < static_cast<int>(backups.size()); ++p) {
    if (backups[p].holder < 0 || (stages && !contains(*stages, p))) continue;
    transfers.push_back({plan.stages[p].devices.front(), backups[p].holder, backups[p].bytes});
  }
  return phase_seconds(transfers, fleet);
}

double checkpoint_seconds(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum) {
  std::vector<Transfer> transfers;
  for (const StagePlan& sp : plan.stages)
    transfers.push_back({sp.devices.front(), kServer, stage_state_bytes(profile, sp.begin, sp.end, momentum)});
  return phase_seconds(transfers, fleet);
}

double redistribution_seconds(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum) {
  std::vector<Transfer> transfers;
  for (const StagePlan& sp : plan.stages)
    for (int d : sp.devices) transfers.push_back({kServer, d, stage_state_bytes(profile, sp.begin, sp.end, momentum)});
  return phase_seconds(transfers, fleet);
}

LayerMoves layer_moves(const Plan& old, const std::vector<StageBackup>& old_backups, const Plan& next,
                       const std::vector<int>& lost, const LayerProfile& profile, const Fleet& fleet, bool momentum) {
  LayerMoves out;
  std::vector<int> old_stage_of(profile.size(), -1);
  for (int p = 0; p < old.num_stages(); ++p)
    for (int u = old.stages[p].begin; u < old.stages[p].end; ++u) old_stage_of[u] = p;
  std::map<std::pair<int, int>, std::uint64_t> pairs;  // (source, destination) -> bytes, in id order
  for (const StagePlan& sp : next.stages)
    for (int d : sp.devices)
      for (int u = sp.begin; u < sp.end; ++u) {
        const StagePlan& was = old.stages.at(old_stage_of.at(u));
        if (contains(was.devices, d)) continue;  // it holds the unit already
        int source = -1;
        for (int s : was.devices)
          if (!contains(lost, s)) {
            source = s;
            break;
          }
        if (source < 0) {
          const int p = old_stage_of[u];
          if (p < static_cast<int>(old_backups.size()) && old_backups[p].holder >= 0 &&
              !contains(lost, old_backups[p].holder))
            source = old_backups[p].holder;
        }
        if (source < 0) {
          out.possible = false;
          continue;
        }
        if (source == d) continue;  // the backup holder takes over its backup in place
        const std::uint64_t b = unit_state_bytes(profile, u, momentum);
        pairs[{source, d}] += b;
        out.bytes += b;
      }
  for (const auto& [sd, bytes] : pairs) out.transfers.push_back({sd.first, sd.second, bytes});
  out.seconds = phase_seconds(out.transfers, fleet);
  return out;
}

PlannedPipeline plan_over_survivors(const PlannerFn& planner, const LayerProfile& profile, const Fleet& fleet,
                                    const PlannerOptions& options, const std::vector<int>& lost) {
  std::vector<int> ids;
  for (int d = 0; d < fleet.size(); ++d)
    if (!contains(lost, d)) ids.push_back(d);
  PlannedPipeline none;
  if (ids.empty()) return none;
  const Fleet sub = fleet.subset(ids);
  PlannedPipeline planned;
  try {
    planned = planner(profile, sub, options);
  } catch (const PlanInfeasible&) {
    return none;
  }
  if (!planned.feasible()) return none;
  for (StagePlan& sp : planned.plan.stages)
    for (int& d : sp.devices) d = ids.at(d);  // ascending ids stay ascending
  return planned;
}

}  // namespace edgesim
