#pragma once
// Runs device tasks for the devices one rank hosts: checks the task's memory footprint
// against the device's cap (a task that does not fit ends as `oom` and is never trained),
// loads the weights it was sent, trains on the device's data and reports the update with its
// costs. Holds the hosted devices' data and one network; no state survives between tasks.
#include <map>

#include "edgesim/device/clock.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

class TaskRunner {
 public:
  TaskRunner(const Experiment& experiment, const std::vector<int>& hosted_devices);
  TaskResult run(const TaskOrder& order);

 private:
  struct DeviceData {
    torch::Tensor x, y;
  };
  const Experiment& experiment_;
  std::map<int, DeviceData> data_;
  torch::nn::Sequential net_;
  LocalRecipe recipe_;
  ClockMode clock_mode_;
};

}  // namespace edgesim
