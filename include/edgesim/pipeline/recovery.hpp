#pragma once
// What recovering a pipeline run from a lost device costs, and the plans it recovers onto
// (docs/ALGORITHMS.md, Asteroid, Faults; the runtime side is app/pipeline_run.cpp) [choice]:
//
// - replay (pipeline.recovery = "replay", the default): every stage's weights and optimizer
//   state are backed up on the NEXT stage's device (the last stage's on the first stage's)
//   every pipeline.backup_every iterations; losing a stage's last device re-plans the layers
//   over the surviving devices with the run's own planner (M kept, so the replayed iteration
//   has the same micro-batches), the lost stage's weights come from its backup, every other
//   moved layer from a surviving device that held it, and the interrupted iteration is
//   replayed;
// - restart (the baseline): every pipeline.checkpoint_every iterations each stage's first
//   device uploads its stage's weights and optimizer state to a store over its uplink; any
//   loss rolls back to the last checkpoint, re-plans from scratch over the survivors, every
//   device of the new plan downloads its stage from the store over its downlink, and the
//   iterations since the checkpoint are run again.
//
// All times come from device/transfer.hpp's max-min fair sharing of the devices' links, every
// phase's transfers starting together; the store is the server endpoint (unlimited links, so
// each device's own link is the bottleneck). Pure functions: no torch, no MPI.
#include <cstdint>
#include <vector>

#include "edgesim/device/transfer.hpp"
#include "edgesim/pipeline/fleet.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/plan.hpp"
#include "edgesim/pipeline/run_setup.hpp"

namespace edgesim {

// Bytes of a unit's state as it travels and is held: float32 parameters and BN buffers, plus
// one momentum buffer per parameter with momentum (SGD's only optimizer state). Units [begin,
// end) for a stage (a tied copy is left out: it equals its owner's weight, restored with it).
std::uint64_t unit_state_bytes(const LayerProfile& profile, int unit, bool momentum);
std::uint64_t stage_state_bytes(const LayerProfile& profile, int begin, int end, bool momentum);

// Where each stage's backup lives [choice]: on the device of the next stage (the last stage's on
// the first's) with the most memory left after its own footprint (memory_of) and the backups it
// already holds (stages in order), ties to the lower id; a backup that fits on none of them is
// not kept (holder -1: that stage is unprotected, losing it whole cannot be replayed). A
// one-stage plan keeps no backup (no other stage).
struct StageBackup {
  int holder = -1;
  std::uint64_t bytes = 0;
};
std::vector<StageBackup> plan_backups(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum);
// Per device id (fleet size): the backup bytes it holds, which count in its footprint.
std::vector<std::uint64_t> held_bytes(const std::vector<StageBackup>& backups, int num_devices);

// Seconds of one backup refresh: each backed-up stage's first device sends its state to the
// holder, all at once. `stages` (if not null): only those stages (e.g. those whose holder changed).
double backup_seconds(const Plan& plan, const std::vector<StageBackup>& backups, const Fleet& fleet,
                      const std::vector<int>* stages = nullptr);
// Seconds of a checkpoint: each stage's first device uploads its stage's state to the store.
double checkpoint_seconds(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum);
// Seconds to install a plan from the store: every device downloads its stage's state.
double redistribution_seconds(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum);

// The transfers that install `next` after `old` lost the devices `lost`: every device of `next`
// gets each unit it did not hold under `old`, from the first surviving device of the old stage
// that held it, or, if that stage has none left, from the stage's backup holder; one transfer
// per (source, destination) pair. possible = false if some unit has neither (then `transfers`
// is incomplete).
struct LayerMoves {
  std::vector<Transfer> transfers;
  std::uint64_t bytes = 0;
  double seconds = 0;
  bool possible = true;
};
LayerMoves layer_moves(const Plan& old, const std::vector<StageBackup>& old_backups, const Plan& next,
                       const std::vector<int>& lost, const LayerProfile& profile, const Fleet& fleet, bool momentum);

// The planner `planner` over the devices not in `lost` (ids kept: the plan names the same
// devices as the fleet), with `options`. An empty plan if nothing fits or no device is left
// (Asteroid's PlanInfeasible is caught). Baselines' plans that overflow a device count as none.
PlannedPipeline plan_over_survivors(const PlannerFn& planner, const LayerProfile& profile, const Fleet& fleet,
                                    const PlannerOptions& options, const std::vector<int>& lost);

}  // namespace edgesim
