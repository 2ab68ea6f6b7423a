#include "edgesim/pipeline/schedule_1f1b.hpp"

#include <algorithm>
#include <stdexcept>

namespace edgesim {
namespace {

struct Pending {
  PipelineOpKind kind;
  int micro_batch;
};

// Stage p's op order under 1F1B with a flush.
std::vector<Pending> order_of(int p, int stages, int m) {
  const int warmup = std::min(stages - p - 1, m);
  std::vector<Pending> order;
  for (int i = 0; i < warmup; ++i) order.push_back({PipelineOpKind::kForward, i});
  for (int i = 0; i < m - warmup; ++i) {
    order.push_back({PipelineOpKind::kForward, warmup + i});
    order.push_back({PipelineOpKind::kBackward, i});
  }
  for (int i = m - warmup; i < m; ++i) order.push_back({PipelineOpKind::kBackward, i});
  return order;
}

constexpr double kNotYet = -1;

}  // namespace

Schedule1F1B schedule_1f1b(const Plan& plan, const LayerProfile& profile, const Fleet& fleet) {
  const int S = plan.num_stages(), M = plan.micro_batches;
  std::vector<StageCost> cost;
  for (const StagePlan& s : plan.stages) cost.push_back(stage_cost(profile, fleet, s.begin, s.end, s.devices, s.shares));
  // Arrival times: activations of micro-batch m at stage p, gradients of m at stage p.
  std::vector<std::vector<double>> acts(S, std::vector<double>(M, kNotYet)), grads = acts;
  for (int m = 0; m < M; ++m) acts[0][m] = 0;  // the first stage reads its input locally
  for (int m = 0; m < M; ++m) grads[S - 1][m] = 0;  // the last stage starts its own backward
  std::vector<double> fwd_link_free(S, 0), bwd_link_free(S, 0), stage_free(S, 0);
  std::vector<std::vector<Pending>> order(S);
  std::vector<std::size_t> next(S, 0);
  std::vector<std::vector<PipelineOp>> done(S);
  for (int p = 0; p < S; ++p) order[p] = order_of(p, S, M);

  for (bool progress = true; progress;) {
    progress = false;
    for (int p = 0; p < S; ++p)
      while (next[p] < order[p].size()) {
        const Pending op = order[p][next[p]];
        const bool fwd = op.kind == PipelineOpKind::kForward;
        const double ready = fwd ? acts[p][op.micro_batch] : grads[p][op.micro_batch];
        if (ready == kNotYet) break;
        const double start = std::max(stage_free[p], ready);
        const double end = start + (fwd ? cost[p].forward : cost[p].compute - cost[p].forward);
        stage_free[p] = end;
        done[p].push_back({p, op.micro_batch, op.kind, start, end});
        ++next[p], progress = true;
        if (fwd && p + 1 < S) {
          const double leave = std::max(end, fwd_link_free[p]);
          fwd_link_free[p] = leave + cut_busy(cost[p].out_send, cost[p + 1].in_receive);
          acts[p + 1][op.micro_batch] = fwd_link_free[p] + std::max(cost[p].latency, cost[p + 1].latency);
        } else if (!fwd && p > 0) {
          const double leave = std::max(end, bwd_link_free[p]);
          bwd_link_free[p] = leave + cut_busy(cost[p].in_send, cost[p - 1].out_receive);
          grads[p - 1][op.micro_batch] = bwd_link_free[p] + std::max(cost[p].latency, cost[p - 1].latency);
        }
      }
  }
  Schedule1F1B out;
  for (int p = 0; p < S; ++p) {
    if (next[p] != order[p].size()) throw std::logic_error("schedule_1f1b: the schedule did not complete");
    done[p].push_back({p, -1, PipelineOpKind::kAllReduce, stage_free[p], stage_free[p] + cost[p].allreduce});
    out.makespan_s = std::max(out.makespan_s, done[p].back().end_s);
    out.ops.insert(out.ops.end(), done[p].begin(), done[p].end());
  }
  return out;
}

}  // namespace edgesim
