#pragma once
// Pipeline planners: profile + devices + links -> a Plan (pipeline/plan.hpp).
//
// plan_asteroid is Asteroid's planner [reconstruction: the paper's abstract names planning
// that maximises throughput under resource constraints; the rule follows the third-party
// descriptions in NOTES.md §4 and PipeDream's / DAPPLE's planners]: a dynamic programme that
// builds the pipeline from its last stage to its first. A state is
//   (u, D, j): units [u, U) placed on j stages using the device set D;
// a move prepends a stage [u', u) on a device group G disjoint from D, split by Algorithm 1
// (pipeline/stage_split.hpp) and checked against every device's memory with its in-flight
// count min(j + 1, M) — building from the back is what makes that count known. Each state
// keeps the Pareto set of partial costs (Σ compute + transfers, bottleneck, round trip,
// all-reduce tail, and the new first stage's side of its input cut, which the next move
// completes), so the minimum of the iteration time (plan.hpp) over every plan the moves can
// build is exact; labels whose lower bound cannot beat the best complete plan are dropped.
// The outer loop tries every micro-batch count M that divides the batch, most first.
//
// Device sets: with kSubsets, D and G range over all subsets, with identical devices
// (same profile and links) counted rather than named — exact over every assignment of devices
// to stages. kSortedRuns is the notes' Algorithm 2: devices sorted by memory, largest first,
// and each stage takes the next run of that order — the first stages keep the most
// micro-batches in flight (S − p), so they get the devices with the most memory. It has
// O(N) device states instead of up to 2^N, and is not exact. kAuto takes kSubsets when it
// has at most `auto_subset_states` device states.
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/pipeline/plan.hpp"

namespace edgesim {

enum class DeviceGrouping { kAuto, kSubsets, kSortedRuns };

enum class PlanObjective {
  kFlush1F1B,       // iteration_time (plan.hpp): what Asteroid minimises
  kSteadyState,     // PipeDream's: the slowest stage's per-iteration work, M·C_p + A_p, or cut
};

struct PlannerOptions {
  int batch_size = 32;          // samples per iteration: micro_batch · micro_batches
  int max_micro_batches = 32;   // M ranges over the divisors of batch_size up to this
  int micro_batches = 0;        // > 0: only this M (must divide batch_size)
  int max_stages = 0;           // 0: as many as units or devices allow
  bool momentum = true;         // optimizer state in the memory model
  SplitPolicy split = SplitPolicy::kProportional;
  DeviceGrouping grouping = DeviceGrouping::kAuto;
  PlanObjective objective = PlanObjective::kFlush1F1B;
  int auto_subset_states = 256;
};

struct PlannedPipeline {
  std::string planner;
  Plan plan;                      // no stages: nothing to run
  double iteration_s = std::numeric_limits<double>::infinity();
  std::vector<int> oom_devices;   // devices the plan would overflow (baselines report, not avoid, them)
  bool feasible() const { return !plan.stages.empty() && oom_devices.empty(); }
  double samples_per_s() const { return feasible() ? plan.batch() / iteration_s : 0.0; }
};

// No plan fits: `min_cap_bytes` is the smallest memory that, given to every device with less,
// would admit one.
struct PlanInfeasible : InputError {
  PlanInfeasible(const std::string& what, std::uint64_t cap) : InputError(what), min_cap_bytes(cap) {}
  std::uint64_t min_cap_bytes;
};

std::vector<int> micro_batch_counts(const PlannerOptions& options);

// The dynamic programme alone: the best plan under options.objective, or none if nothing fits.
std::optional<Plan> plan_by_dp(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);

// Asteroid: plan_by_dp with the proportional split and the 1F1B objective. Throws
// PlanInfeasible (naming the smallest cap needed) when no plan fits.
PlannedPipeline plan_asteroid(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options = {});

// The smallest per-device memory floor under which plan_by_dp finds a plan (binary search).
std::uint64_t smallest_cap_needed(const LayerProfile& profile, const Fleet& fleet, const PlannerOptions& options);

}  // namespace edgesim
