#include "edgesim/runtime/pipeline_executor.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace edgesim {

std::vector<PipelineOp> execution_order(const Schedule1F1B& schedule, int S) {
  std::vector<std::vector<PipelineOp>> queue(S);
  int M = 0;
  for (const PipelineOp& op : schedule.ops) {
    queue.at(op.stage).push_back(op);
    M = std::max(M, op.micro_batch + 1);
  }
  std::vector<std::size_t> next(S, 0);
  // forwarded[p][m]: stage p's forward of m ran; backwarded likewise.
  std::vector<std::vector<char>> forwarded(S, std::vector<char>(M, 0)), backwarded = forwarded;
  std::vector<PipelineOp> order;
  for (;;) {
    int pick = -1;
    for (int p = 0; p < S; ++p) {
      if (next[p] >= queue[p].size()) continue;
      const PipelineOp& op = queue[p][next[p]];
      bool ready = true;
      switch (op.kind) {
        case PipelineOpKind::kForward: ready = p == 0 || forwarded[p - 1][op.micro_batch]; break;
        case PipelineOpKind::kBackward: ready = p + 1 == S || backwarded[p + 1][op.micro_batch]; break;
        case PipelineOpKind::kAllReduce: ready = true; break;
      }
      if (ready && (pick < 0 || op.start_s < queue[pick][next[pick]].start_s)) pick = p;
    }
    if (pick < 0) break;
    const PipelineOp& op = queue[pick][next[pick]++];
    switch (op.kind) {
      case PipelineOpKind::kForward: forwarded[pick][op.micro_batch] = 1; break;
      case PipelineOpKind::kBackward: backwarded[pick][op.micro_batch] = 1; break;
      case PipelineOpKind::kAllReduce: break;
    }
    order.push_back(op);
  }
  for (int p = 0; p < S; ++p)
    if (next[p] != queue[p].size()) throw std::logic_error("execution_order: the 1F1B order deadlocked");
  return order;
}

PipelineIteration frame_iteration(const Plan& plan, const LayerProfile& profile, const Fleet& fleet, bool momentum,
                                  std::vector<PipelineOp>* order, const std::vector<std::uint64_t>& held) {
  PipelineIteration result;
  result.samples = plan.batch();
  if (order) order->clear();
  for (std::size_t p = 0; p < plan.stages.size(); ++p)
    for (std::size_t i = 0; i < plan.stages[p].devices.size(); ++i) {
      const int d = plan.stages[p].devices[i];
      const std::uint64_t extra = held.empty() ? 0 : held.at(d);
      result.devices.push_back(d);
      result.estimated_bytes.push_back(static_cast<std::int64_t>(
          memory_of(plan, static_cast<int>(p), static_cast<int>(i), profile, momentum).total() + extra));
      result.peak_bytes.push_back(0);
    }
  result.oom_devices = over_memory(plan, profile, fleet, momentum);
  if (!held.empty()) {  // the same check with each device's held bytes added
    result.oom_devices.clear();
    for (std::size_t i = 0; i < result.devices.size(); ++i)
      if (static_cast<std::uint64_t>(result.estimated_bytes[i]) > fleet.devices.at(result.devices[i]).memory_cap_bytes)
        result.oom_devices.push_back(result.devices[i]);
    std::sort(result.oom_devices.begin(), result.oom_devices.end());
  }
  if (!result.oom_devices.empty()) {
    result.oom = true;
    return result;
  }
  const Schedule1F1B schedule = schedule_1f1b(plan, profile, fleet);
  result.time_s = schedule.makespan_s;
  const std::vector<PipelineOp> ops = execution_order(schedule, plan.num_stages());
  for (const PipelineOp& op : ops) {
    const StagePlan& sp = plan.stages[op.stage];
    for (std::size_t i = 0; i < sp.devices.size(); ++i) {
      PipelineOpRecord rec{sp.devices[i], op.stage, op.micro_batch, op.kind, op.start_s, op.end_s};
      if (op.kind != PipelineOpKind::kAllReduce) {  // each device's own op ends after its own share
        const Pass pass = op.kind == PipelineOpKind::kForward ? Pass::kForward : Pass::kBackward;
        const OpSeconds t = fleet.op_seconds(profile, sp.devices[i], sp.begin, sp.end, sp.shares[i], pass);
        rec.end_s = op.start_s + t.work + t.overhead;
      }
      result.ops.push_back(rec);
    }
  }
  if (order) *order = ops;
  return result;
}

bool judge_iteration(PipelineIteration& it, const Plan& plan, const Fleet& fleet, const std::vector<ReplicaReport>& reports,
                     const std::vector<std::uint64_t>& held) {
  (void)plan;
  for (const ReplicaReport& r : reports)
    for (std::size_t i = 0; i < it.devices.size(); ++i)
      if (it.devices[i] == r.device) {
        const std::uint64_t extra = held.empty() || r.peak_memory_bytes == 0 ? 0 : held.at(r.device);
        it.peak_bytes[i] = r.peak_memory_bytes + static_cast<std::int64_t>(extra);
        if (static_cast<std::uint64_t>(it.peak_bytes[i]) > fleet.devices.at(r.device).memory_cap_bytes)
          it.oom_devices.push_back(r.device);
      }
  if (it.oom_devices.empty()) return true;
  std::sort(it.oom_devices.begin(), it.oom_devices.end());
  it.oom = it.measured_oom = true;
  return false;
}

void complete_iteration(PipelineIteration& it, const Plan& plan, const std::vector<ReplicaReport>& reports) {
  const StagePlan& last = plan.stages.back();
  double loss_sum = 0;
  for (int m = 0; m < plan.micro_batches; ++m)
    for (int d : last.devices) {
      bool found = false;
      for (const ReplicaReport& r : reports)
        if (r.device == d) {
          loss_sum += r.loss_terms.at(m);
          found = true;
        }
      if (!found) throw std::logic_error("complete_iteration: no report from device " + std::to_string(d));
    }
  it.loss = loss_sum / plan.batch();
  it.bytes_sent = it.bytes_received = 0;
  for (const ReplicaReport& r : reports) it.bytes_sent += r.bytes_sent, it.bytes_received += r.bytes_received;
}

PipelineExecutor::PipelineExecutor(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan,
                                   const Fleet& fleet, const SgdSettings& sgd, const SpecNet& initial, bool meter_memory)
    : spec_(spec), profile_(profile), plan_(plan), meter_memory_(meter_memory), fleet_(fleet), sgd_(sgd) {
  check_plan(plan_, profile_, fleet_);
  std::vector<int> all;
  for (const StagePlan& sp : plan_.stages) all.insert(all.end(), sp.devices.begin(), sp.devices.end());
  worker_ = std::make_unique<StageWorker>(spec, profile_, plan_, sgd_, initial, all, link_, meter_memory);
}

PipelineExecutor::~PipelineExecutor() = default;

void PipelineExecutor::copy_into(SpecNet& whole) const { worker_->copy_into(whole); }

void PipelineExecutor::reshare(const Plan& plan) {
  check_plan(plan, profile_, fleet_);
  worker_->reshare(plan);
  plan_ = plan;
}

void PipelineExecutor::install(const Plan& plan, const std::map<std::string, torch::Tensor>& state) {
  check_plan(plan, profile_, fleet_);
  std::vector<int> all;
  for (const StagePlan& sp : plan.stages) all.insert(all.end(), sp.devices.begin(), sp.devices.end());
  worker_.reset();  // the old replicas go first: their devices' memory is freed before the new ones build
  worker_ = std::make_unique<StageWorker>(spec_, profile_, plan, sgd_, state, all, link_, meter_memory_);
  plan_ = plan;
}

PipelineIteration PipelineExecutor::run_iteration(const torch::Tensor& inputs, const torch::Tensor& targets) {
  const int B = plan_.batch();
  if (inputs.size(0) != B || targets.size(0) != B)
    throw std::invalid_argument("PipelineExecutor: a batch of " + std::to_string(B) + " samples expected");
  std::vector<PipelineOp> order;
  PipelineIteration result = frame_iteration(plan_, profile_, fleet_, sgd_.momentum > 0, &order, held_);
  if (result.oom) return result;
  const std::vector<ReplicaReport> reports = worker_->run_ops(order, inputs, targets);
  const bool apply = judge_iteration(result, plan_, fleet_, reports, held_);
  worker_->finish(apply);
  if (apply) complete_iteration(result, plan_, reports);
  return result;
}

}  // namespace edgesim
