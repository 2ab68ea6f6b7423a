#pragma once
// Runs device tasks for the devices one rank hosts: builds the (sub)model it was sent,
// checks its estimated footprint against the device's cap (a task that does not fit ends as
// `oom` and is never trained), trains it on the device's data under the enforced cap (the
// counting allocator: an allocation that crosses the cap also ends the task as `oom`), and
// reports the update with its costs and measured peak. Holds the hosted devices' data; no
// state survives between tasks.
#include <map>

#include "edgesim/device/clock.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

struct TrainerOutput;

class TaskRunner {
 public:
  TaskRunner(const Experiment& experiment, const std::vector<int>& hosted_devices);
  TaskResult run(const TaskOrder& order);

 private:
  // The task's compute seconds on the reference device, by the clock mode.
  double reference_seconds(const DeviceProfile& device, const ModelSpec& arch, const TrainerOutput& trained,
                           double measured_s) const;
  const Experiment& experiment_;
  std::map<int, Examples> data_;
  LocalRecipe recipe_;
  ClockMode clock_mode_;
  bool enforce_memory_;
};

}  // namespace edgesim
