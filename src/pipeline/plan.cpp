#include "edgesim/pipeline/plan.hpp"

#include <algorithm>
#include <numeric>
#include <sstream>
#include <stdexcept>

namespace edgesim {

int in_flight(const Plan& plan, int stage) { return std::min(plan.num_stages() - stage, plan.micro_batches); }

MemoryFootprint memory_of(const Plan& plan, int stage, int slot, const LayerProfile& profile, bool momentum) {
  const StagePlan& s = plan.stages.at(stage);
  return stage_memory(profile, s.begin, s.end, s.shares.at(slot), in_flight(plan, stage), momentum);
}

std::vector<int> over_memory(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum) {
  std::vector<int> over;
  for (int p = 0; p < plan.num_stages(); ++p)
    for (std::size_t i = 0; i < plan.stages[p].devices.size(); ++i) {
      const int d = plan.stages[p].devices[i];
      if (memory_of(plan, p, static_cast<int>(i), profile, momentum).total() > fleet.devices[d].memory_cap_bytes)
        over.push_back(d);
    }
  std::sort(over.begin(), over.end());
  return over;
}

IterationBreakdown iteration_breakdown(const Plan& plan, const LayerProfile& profile, const Fleet& fleet) {
  IterationBreakdown b;
  for (const StagePlan& s : plan.stages) b.stages.push_back(stage_cost(profile, fleet, s.begin, s.end, s.devices, s.shares));
  for (std::size_t p = 0; p < b.stages.size(); ++p) {
    const StageCost& c = b.stages[p];
    b.fill_drain += c.compute;
    b.bottleneck = std::max(b.bottleneck, c.compute);
    if (p + 1 == b.stages.size()) break;
    const StageCost& next = b.stages[p + 1];
    const double f = cut_seconds(c.out_send, next.in_receive, c.latency, next.latency);
    const double g = cut_seconds(next.in_send, c.out_receive, c.latency, next.latency);
    b.forward_cut.push_back(f);
    b.backward_cut.push_back(g);
    b.fill_drain += f + g;
    b.bottleneck = std::max({b.bottleneck, cut_busy(c.out_send, next.in_receive), cut_busy(next.in_send, c.out_receive)});
  }
  // Round trips: from stage p's forward of a micro-batch to the end of its backward there.
  // All-reduce tail: stage p's all-reduce starts about the last backward's way back to stage 0
  // (its backward and its gradient transfer at every earlier stage) before the flush ends.
  double suffix = 0;
  for (int p = plan.num_stages() - 1; p >= 0; --p) {
    const StageCost& c = b.stages[p];
    suffix += c.compute;
    double way_back = c.compute - c.forward;
    if (p + 1 < plan.num_stages()) {
      suffix += b.forward_cut[p] + b.backward_cut[p];
      way_back += b.backward_cut[p];
    }
    b.round_trip = std::max(b.round_trip, suffix / in_flight(plan, p));
    b.allreduce = std::max(b.allreduce - way_back, c.allreduce);
  }
  b.period = std::max(b.bottleneck, b.round_trip);
  b.total = b.fill_drain + (plan.micro_batches - 1) * b.period + b.allreduce;
  return b;
}

double iteration_time(const Plan& plan, const LayerProfile& profile, const Fleet& fleet) {
  return iteration_breakdown(plan, profile, fleet).total;
}

void check_plan(const Plan& plan, const LayerProfile& profile, const Fleet& fleet) {
  auto bad = [](const std::string& what) { throw std::invalid_argument("pipeline plan: " + what); };
  if (plan.stages.empty()) bad("no stages");
  if (plan.micro_batch < 1 || plan.micro_batches < 1) bad("micro-batch size and count must be >= 1");
  int next = 0;
  std::vector<bool> used(fleet.size(), false);
  for (const StagePlan& s : plan.stages) {
    if (s.begin != next || s.end <= s.begin) bad("stages must cover the units in order");
    next = s.end;
    if (s.devices.empty() || s.devices.size() != s.shares.size()) bad("every stage needs devices, one share each");
    for (int d : s.devices) {
      if (d < 0 || d >= fleet.size()) bad("unknown device " + std::to_string(d));
      if (used[d]) bad("device " + std::to_string(d) + " is in two stages");
      used[d] = true;
    }
    for (int n : s.shares)
      if (n < 1) bad("every device needs a share >= 1");
    if (std::accumulate(s.shares.begin(), s.shares.end(), 0) != plan.micro_batch) bad("shares must sum to the micro-batch");
  }
  if (next != profile.size()) bad("stages must cover every unit");
}

std::string describe(const Plan& plan, const LayerProfile& profile) {
  std::ostringstream out;
  out << plan.num_stages() << " stages, " << plan.micro_batches << " micro-batches of " << plan.micro_batch << "\n";
  for (int p = 0; p < plan.num_stages(); ++p) {
    const StagePlan& s = plan.stages[p];
    out << "  stage " << p << ": units [" << s.begin << ", " << s.end << ") = layers ["
        << profile.units[s.begin].begin << ", " << profile.units[s.end - 1].end << "), devices";
    for (std::size_t i = 0; i < s.devices.size(); ++i) out << " " << s.devices[i] << "(" << s.shares[i] << ")";
    out << "\n";
  }
  return out.str();
}

}  // namespace edgesim
