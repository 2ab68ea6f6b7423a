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
//   T = Σ_p C_p + Σ_c (F_c + B_c)         fill and drain: the first micro-batch's forward and
//                                          the last one's backward cross every stage and cut
//     + (M − 1) · max(max_p C_p,           steady state, paced by the slowest stage,
//                     max_c F°_c, B°_c,    the busiest cut (° = busy time, without latency,
//                                          which back-to-back transfers overlap),
//                     max_p R_p / k_p)     or a round trip: stage p can start a new forward only
//                                          when one of its k_p = min(S − p, M) micro-batches in
//                                          flight is back, R_p = Σ_{q≥p} C_q + Σ_{c≥p} (F_c + B_c)
//     + max_p (A_p − D_p)                  the all-reduces: stage p's starts when its last
//                                          backward ends, D_p = Σ_{q<p} (backward_q + B_q,q+1)
//                                          before the flush does
//
// with C_p the compute of stage p per micro-batch (forward + backward, StageCost::compute),
// F_c / B_c the activation / gradient transfer at cut c (StageCost sides, cut_seconds), and
// A_p its all-reduce (then, under the calibrated clock, its optimizer step; compute is priced
// by the fleet, pipeline/fleet.hpp). Every term is a sum or a max over stages that the planner's DP can carry
// from the last stage to the first. For S identical stages without transfers it is the 1F1B
// makespan (M + S − 1)·C + A. Otherwise it approximates the op-by-op schedule
// (pipeline/schedule_1f1b.hpp): it ignores queueing in warm-up and cool-down; on the random
// plans of the unit tests it is within about ±6% of it.
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
  double fill_drain = 0, total = 0;
  double allreduce = 0;   // what the all-reduces add after the flush: max_p (A_p − D_p)
  double bottleneck = 0;  // slowest stage or cut busy time
  double round_trip = 0;  // max over stages of R_p / min(S − p, M)
  double period = 0;      // steady state: the larger of the two
};
IterationBreakdown iteration_breakdown(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);
double iteration_time(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);

// Throws std::invalid_argument if the plan is malformed: stages not covering every unit in
// order, a device in two stages or unknown, shares not summing to the micro-batch or < 1.
void check_plan(const Plan& plan, const LayerProfile& profile, const Fleet& fleet);

std::string describe(const Plan& plan, const LayerProfile& profile);  // one line per stage

}  // namespace edgesim
