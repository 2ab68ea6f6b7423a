#include "edgesim/pipeline/stage_cost.hpp"

#include <algorithm>
#include <limits>

namespace edgesim {
namespace {

struct StageWeights {
  std::uint64_t parameters = 0, buffers = 0, tied_copies = 0, activation_bytes = 0;
};

StageWeights weights_of(const LayerProfile& p, int begin, int end) {
  StageWeights w;
  for (int u = begin; u < end; ++u) {
    w.parameters += p.units[u].parameters;
    w.buffers += p.units[u].buffers;
    w.activation_bytes += p.units[u].activation_bytes;
  }
  w.activation_bytes += p.cut_bytes[begin];  // the stage's input, kept for its backward pass
  for (const TiedWeight& t : p.tied)
    if (t.user_unit >= begin && t.user_unit < end && (t.owner_unit < begin || t.owner_unit >= end))
      w.tied_copies += t.parameters;
  return w;
}

}  // namespace

MemoryFootprint stage_memory(const LayerProfile& p, int begin, int end, int share, int in_flight, bool momentum) {
  const StageWeights w = weights_of(p, begin, end);
  const std::uint64_t trainable = w.parameters + w.tied_copies;
  MemoryFootprint m;
  m.weights = 4 * (trainable + w.buffers);
  m.gradients = 4 * trainable;
  m.optimizer = momentum ? 4 * trainable : 0;
  m.activations = w.activation_bytes * static_cast<std::uint64_t>(share) * static_cast<std::uint64_t>(in_flight);
  return m;
}

int max_share(const LayerProfile& p, int begin, int end, int in_flight, bool momentum, std::uint64_t cap) {
  const MemoryFootprint fixed = stage_memory(p, begin, end, 0, in_flight, momentum);
  if (fixed.total() >= cap) return 0;
  const std::uint64_t per_sample = stage_memory(p, begin, end, 1, in_flight, momentum).activations;
  if (per_sample == 0) return std::numeric_limits<int>::max();
  const std::uint64_t n = (cap - fixed.total()) / per_sample;
  return static_cast<int>(std::min<std::uint64_t>(n, std::numeric_limits<int>::max()));
}

std::vector<int> split_stage(const LayerProfile& p, const Fleet& fleet, int begin, int end,
                             const std::vector<int>& devices, int micro_batch, int in_flight, bool momentum,
                             SplitPolicy policy) {
  std::vector<double> per_sample, fixed;
  std::vector<int> caps;
  for (int d : devices) {
    const SplitCost c = fleet.split_cost(p, d, begin, end);
    per_sample.push_back(c.per_sample), fixed.push_back(c.fixed);
    caps.push_back(max_share(p, begin, end, in_flight, momentum, fleet.devices[d].memory_cap_bytes));
  }
  return split_micro_batch(policy, micro_batch, per_sample, caps, fixed);
}

StageCost stage_cost(const LayerProfile& p, const Fleet& fleet, int begin, int end,
                     const std::vector<int>& devices, const std::vector<int>& shares) {
  const double in_bytes = begin > 0 ? static_cast<double>(p.cut_bytes[begin]) : 0.0;
  const double out_bytes = static_cast<double>(p.cut_bytes[end]);
  StageCost c;
  double slowest_link = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < devices.size(); ++i) {
    const int d = devices[i];
    const LinkProfile& l = fleet.links[d];
    const double n = shares[i];
    c.in_receive = std::max(c.in_receive, link_seconds(n * in_bytes, l.downlink_mbps));
    c.in_send = std::max(c.in_send, link_seconds(n * in_bytes, l.uplink_mbps));
    c.out_send = std::max(c.out_send, link_seconds(n * out_bytes, l.uplink_mbps));
    c.out_receive = std::max(c.out_receive, link_seconds(n * out_bytes, l.downlink_mbps));
    c.latency = std::max(c.latency, l.latency_s);
    slowest_link = std::min({slowest_link, l.uplink_mbps, l.downlink_mbps});
  }
  const StageCompute compute = fleet.stage_compute(p, begin, end, devices, shares);
  c.forward = compute.forward;
  c.compute = compute.compute;
  c.update = compute.update;
  const StageWeights w = weights_of(p, begin, end);
  const double ring = static_cast<double>(devices.size());
  if (devices.size() > 1) {
    const double step = link_seconds(4.0 * (w.parameters + w.tied_copies) / ring, slowest_link) + c.latency;
    c.allreduce = 2 * (ring - 1) * step;
  }
  if (w.tied_copies > 0) c.allreduce += link_seconds(4.0 * w.tied_copies, slowest_link) + c.latency;
  c.allreduce += c.update;
  return c;
}

}  // namespace edgesim
