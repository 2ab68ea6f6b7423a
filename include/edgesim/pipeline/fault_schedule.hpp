#pragma once
// Faults of a pipeline run (pipeline.faults, docs/ALGORITHMS.md, Asteroid) and the simplest
// recovery [choice]. A fault is device d failing (noticed when its heartbeat is overdue,
// pipeline.heartbeat_timeout_s later, in virtual time) or leaving (it says so: noticed at once)
// at virtual time t, listed in pipeline.faults or drawn at random (pipeline.failure_mtbf_s).
// Recovery without moving weights (plan_without): the device's stage keeps training on its
// other devices, the stage's micro-batch re-split among them by Algorithm 1
// (pipeline/stage_split.hpp) — they already hold the stage's weights and optimizer state. A
// stage with no other device is re-planned with its backup, or the run restarts from a
// checkpoint: pipeline/recovery.hpp.
#include <string>
#include <vector>

#include "edgesim/io/config.hpp"
#include "edgesim/pipeline/fleet.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/plan.hpp"

namespace edgesim {

struct PipelineFault {
  int device = 0;
  double at_s = 0;     // virtual time
  bool leave = false;  // announced exit; else a failure
};

// "fail:2@0.5,leave:0@1.25" → faults sorted by time (ties by device). Throws
// std::invalid_argument naming what is wrong (a device outside [0, num_devices), a device
// listed twice, a bad number or kind). "" → none.
std::vector<PipelineFault> parse_fault_schedule(const std::string& text, int num_devices);

// `listed` plus random failures [choice]: every device not in `listed` fails once, at a time
// drawn from an exponential distribution of mean `mtbf_s` from Rng(seed, kFailure, device) —
// independent memoryless failures, the constant-rate model of reliability engineering — so a
// device's failure time does not depend on the others or on the device count. mtbf_s = 0:
// `listed` as it is. Sorted like parse_fault_schedule's result.
std::vector<PipelineFault> with_random_failures(std::vector<PipelineFault> listed, double mtbf_s, std::uint64_t seed,
                                                int num_devices);

// The run's faults: pipeline.faults, then pipeline.failure_mtbf_s's random failures (seed
// pipeline.failure_seed, or run.seed if 0). Throws parse_fault_schedule's errors.
std::vector<PipelineFault> fault_schedule(const ExperimentConfig& cfg);

// The plan without `device`: its stage's shares re-split among the survivors (proportional
// to speed, Algorithm 1; memory is checked by the caller's estimate). Empty stages list if the
// device was its stage's only one; the plan itself if the device is not in it.
Plan plan_without(const Plan& plan, int device, const LayerProfile& profile, const Fleet& fleet);

}  // namespace edgesim
