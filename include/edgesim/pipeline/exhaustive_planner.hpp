#pragma once
// Exhaustive search over every plan of a small instance, to check the planners against:
// every micro-batch count (planner.hpp), every split of the units into S contiguous stages
// (S up to min(units, devices, max_stages)), every assignment of devices to stages (each
// stage at least one device, devices may stay idle), the shares given by options.split
// within memory; the plan with the least iteration_time (plan.hpp). Cost grows as
// (S + 1)^devices · C(units − 1, S − 1): meant for <= 8 units and <= 5 devices.
#include <optional>

#include "edgesim/pipeline/planner.hpp"

namespace edgesim {

std::optional<PlannedPipeline> plan_exhaustive(const LayerProfile& profile, const Fleet& fleet,
                                               const PlannerOptions& options);

}  // namespace edgesim
