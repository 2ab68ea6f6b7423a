#pragma once
// A pipeline plan and its iteration-time and memory model.
//
// A Plan splits the profile's units into contiguous stages; each stage is trained data
// parallel by its devices, each with a share of every micro-batch; an iteration is M
// micro-batches of `micro_batch` samples under 1F1B with a flush (PipeDream-Flush / DAPPLE:
// warm-up forwards, steady one-forward-one-backward, cool-down backwards, then every stage
// all-reduces its gradients and steps).
//
// Iteration time (seconds) — the closed form the planners minimise [choice; in the spirit of
// DAPPLE's latency model, with heterogeneous stages and links]:
//
//   T = Σ_p C_p + Σ_c (F_c + B_c)                      fill and drain: the first micro-batch's
//                                                       forward and the last one's backward
//                                                       cross every stage and every cut
//     + (M − 1) · max(max_p C_p, max_c F°_c, max_c B°_c) steady state, paced by the slowest
//                                                       stage or link (° = busy time: without
//                                                       latency, which successive transfers
//                                                       overlap)
//     + max_p A_p                                       the stages' all-reduces, in parallel
//
// with C_p the compute of stage p per micro-batch (forward + backward, StageCost::compute),
// F_c / B_c the activation / gradient transfer at cut c (StageCost sides, cut_seconds), and
// A_p its all-reduce. For S identical stages without transfers it is the 1F1B makespan
// (M + S − 1)·C plus the all-reduce; otherwise an approximation that may charge work a fast
// stage hides behind the bottleneck, and all-reduces that overlap the drain of earlier stages.
//
// Memory (memory_of): stage p of S keeps min(S − p, M) micro-batches in flight (1F1B: p = 0
// is the first stage), each device its share of each; see pipeline/stage_cost.hpp.
#include <string>
#include <vector>

#include "edgesim/device/cost.hpp"
#include "edgesim/pipeline/fleet.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/stage_cost.hpp"

namespace edgesim {

struct StagePlan {
  int begin = 0, end = 0;    // units [begin, end) of the LayerProfile
  std::vector<int> devices;  // device ids, ascending
  std::vector<int> shares;   // samples of each micro-batch, per device; sum = micro_batch
};

struct Plan {
  std::vector<StagePlan> stages;
  int micro_batch = 1, micro_batches = 1;
  int batch() const { return micro_batch * micro_batches; }
  int num_stages() const { return static_cast<int>(stages.size()); }
};

// Micro-batches stage p keeps in flight under 1F1B: min(S − p, M).
int in_flight(const Plan& plan, int stage);

MemoryFootprint memory_of(const Plan& plan, int stage, int device_slot, const LayerProfile& profile, bool momentum);

// Devices whose footprint in the plan exceeds their cap, ascending.
std::vector<int> over_memory(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum);

struct IterationBreakdown {
  std::vector<StageCost> stages;
  std::vector<double> forward_cut, backward_cut;  // per cut between stage p and p + 1
  double fill_drain = 0, bottleneck = 0, allreduce = 0, total = 0;
};
IterationBreakdown iteration_breakdown(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);
double iteration_time(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);

// Throws std::invalid_argument if the plan is malformed: stages not covering every unit in
// order, a device in two stages or unknown, shares not summing to the micro-batch or < 1.
void check_plan(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);

std::string describe(const Plan& plan, const LayerProfile& profile);  // one line per stage

}  // namespace edgesim
