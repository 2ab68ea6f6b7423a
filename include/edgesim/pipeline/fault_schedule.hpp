#pragma once
// Faults of a pipeline run (pipeline.faults, docs/ALGORITHMS.md, Asteroid) and the simplest
// recovery [choice]. A fault is device d failing (noticed when its heartbeat is overdue,
// pipeline.heartbeat_timeout_s later, in virtual time) or leaving (it says so: noticed at once)
// at virtual time t. Recovery without moving weights: the device's stage keeps training on its
// other devices, the stage's micro-batch re-split among them by Algorithm 1
// (pipeline/stage_split.hpp) — they already hold the stage's weights and optimizer state. A
// stage with no other device cannot be recovered this way (a re-plan with the backup weights
// is not done).
#include <string>
#include <vector>

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

// The plan without `device`: its stage's shares re-split among the survivors (proportional
// to speed, Algorithm 1; memory is checked by the caller's estimate). Empty stages list if the
// device was its stage's only one; the plan itself if the device is not in it.
Plan plan_without(const Plan& plan, int device, const LayerProfile& profile, const Fleet& fleet);

}  // namespace edgesim
