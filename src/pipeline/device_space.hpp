#pragma once
// The device dimension of the planner's dynamic programme (internal to src/pipeline): which
// sets of devices the stages placed so far may use, and which group the next stage may take.
// States are numbered 0..states-1, state 0 = no device used. A group's key identifies its
// cost: two moves with the same key put the same kinds of devices in a stage.
#include <vector>

#include "edgesim/pipeline/fleet.hpp"

namespace edgesim::pipeline_detail {

struct DeviceMove {
  int group_key = 0;
  int next = 0;              // the state after the move
  std::vector<int> devices;  // the group, ascending ids
};

struct DeviceSpace {
  int states = 1, group_keys = 1;
  std::vector<std::vector<DeviceMove>> moves;  // per state
  std::vector<int> starts{0};                  // the states the last stage may be added to
};

// Every subset, identical devices (same profile, compute (Fleet::same_compute) and links) counted
// rather than named.
DeviceSpace subsets_space(const Fleet& fleet);
// Devices sorted by memory, largest first (then faster first, then by id); the stages, from
// the first, take consecutive runs of that order. Built back to front like the planner: a
// state is how many devices the later stages took or skipped from the end of the order, and
// the DP may start after skipping any number of them — so the stages use a window of the
// order, and the devices before and after it stay idle.
DeviceSpace sorted_runs_space(const Fleet& fleet);
// The number of states subsets_space would have.
long long subset_states(const Fleet& fleet);

}  // namespace edgesim::pipeline_detail
