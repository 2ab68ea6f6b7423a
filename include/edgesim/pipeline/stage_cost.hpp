#pragma once
// One pipeline stage (units [begin, end) of a LayerProfile on some devices, each with its
// share of the micro-batch): its memory per device, its compute time per micro-batch, its
// all-reduce, and its side of the transfers at its two cuts. The iteration-time model
// (pipeline/plan.hpp) and the planners (pipeline/planner.hpp) are built from these pieces
// alone, so a plan the planner scores and the same plan evaluated cannot disagree.
//
// Memory of a device in the stage (float32, as device/cost.hpp): weights (+ BN buffers),
// gradients, optimizer state (one momentum buffer if momentum), and, for each micro-batch in
// flight, its share of the activations kept for backward: the stage's input (the tensors
// crossing its first cut; the model input for the first stage) plus every layer's output.
// A stage that uses a tied weight owned by another stage holds a copy of it (weights,
// gradients and optimizer state). Not counted: send/receive buffers of in-flight transfers.
//
// Transfers at a cut: every device of the sending stage sends its samples' tensors, every
// device of the receiving stage receives its own samples' (samples are routed so each link
// carries only its own share); as a fluid flow the transfer ends when the most loaded of
// those uplinks and downlinks has drained, plus the largest latency of the two stages'
// devices. For one sender and one receiver this is transfer_seconds() over
// min(uplink, downlink), as in device/transfer.hpp.
//
// Compute: each device's forward and backward op at its own share, priced by the fleet
// (pipeline/fleet.hpp, analytic or calibrated clock); the stage's op lasts its slowest device's.
//
// All-reduce: a ring over the stage's n devices, 2(n − 1) steps, each moving 1/n of the
// stage's gradients over every device's uplink and downlink (the slowest link paces the
// ring) plus the largest latency. A stage holding a tied copy then exchanges that gradient
// with the owner's stage: one transfer of its bytes, paced by this stage's slowest link.
#include <cstdint>
#include <vector>

#include "edgesim/device/cost.hpp"
#include "edgesim/pipeline/fleet.hpp"
#include "edgesim/pipeline/layer_profile.hpp"
#include "edgesim/pipeline/stage_split.hpp"

namespace edgesim {

struct StageCost {
  // Compute is priced by the fleet (pipeline/fleet.hpp: the analytic or the calibrated clock),
  // each device at its own share.
  double forward = 0;    // per micro-batch: the slowest device's forward op
  double compute = 0;    // forward + the slowest device's backward op (analytic: backward = 2 ×
                         // the forward work, device/cost.hpp, plus one more op overhead)
  double update = 0;     // the optimizer step, once per iteration (calibrated clock; 0 analytic)
  double allreduce = 0;  // once per iteration, after the stage's last backward: the gradients'
                         // all-reduce and tied exchange, then `update` (included here)
  // This stage's side of the transfer at its input cut (0 for the first stage): activations
  // in over its downlinks, gradients out over its uplinks; and at its output cut (0 for the
  // last stage). Seconds, without latency.
  double in_receive = 0, in_send = 0, out_send = 0, out_receive = 0;
  double latency = 0;  // the largest one-way latency among its devices
};

// Memory of one device of the stage holding `share` samples of each of `in_flight` micro-batches.
MemoryFootprint stage_memory(const LayerProfile& profile, int begin, int end, int share, int in_flight, bool momentum);

// The largest share a device can hold within its memory cap (0: not even one sample).
int max_share(const LayerProfile& profile, int begin, int end, int in_flight, bool momentum, std::uint64_t cap_bytes);

// Shares of `micro_batch` for `devices` by `policy`, within their memory caps; empty if none.
std::vector<int> split_stage(const LayerProfile& profile, const Fleet& fleet, int begin, int end,
                             const std::vector<int>& devices, int micro_batch, int in_flight, bool momentum,
                             SplitPolicy policy);

StageCost stage_cost(const LayerProfile& profile, const Fleet& fleet, int begin, int end,
                     const std::vector<int>& devices, const std::vector<int>& shares);

// A transfer between adjacent stages keeps its links busy for the busier side's seconds and
// arrives that long plus the larger latency after it starts. Back-to-back transfers overlap
// their latencies, so a cut's throughput is limited by the busy time alone.
inline double cut_busy(double send, double receive) { return send > receive ? send : receive; }
inline double cut_seconds(double send, double receive, double latency_a, double latency_b) {
  return cut_busy(send, receive) + (latency_a > latency_b ? latency_a : latency_b);
}

}  // namespace edgesim
