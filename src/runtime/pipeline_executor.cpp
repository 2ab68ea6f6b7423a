#include "edgesim/runtime/pipeline_executor.hpp"

#include <map>
#include <stdexcept>
#include <utility>

namespace edgesim {

// One device's copy of its stage, with what 1F1B keeps of each micro-batch in flight.
struct PipelineExecutor::Replica {
  Replica(const ModelSpec& spec, int begin, int end, int device_, int share_, int offset_, int micro_batches)
      : net(spec, begin, end), device(device_), share(share_), offset(offset_), in(micro_batches),
        out(micro_batches), loss(micro_batches) {}
  StageNet net;
  std::unique_ptr<torch::optim::SGD> optimizer;
  int device, share, offset;  // samples [offset, offset + share) of every micro-batch
  std::vector<std::vector<torch::Tensor>> in, out;
  std::vector<torch::Tensor> loss;  // last stage: its scaled loss per micro-batch
};

struct PipelineExecutor::Stage {
  std::vector<Replica> replicas;
  double forward_flops = 0;  // per sample
};

namespace {

// A tied weight: its owner stage's parameter and a user stage's copy (parameter indices).
struct TiedPair {
  int owner_stage, owner_param, user_stage, user_param;
};

torch::Tensor grad_or_zeros(const torch::Tensor& p) { return p.grad().defined() ? p.grad() : torch::zeros_like(p); }

}  // namespace

PipelineExecutor::PipelineExecutor(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan,
                                   const Fleet& fleet, const SgdSettings& sgd, const SpecNet& initial)
    : spec_(spec), profile_(profile), plan_(plan), fleet_(fleet), sgd_(sgd) {
  check_plan(plan_, profile_, fleet_);
  for (const StagePlan& sp : plan_.stages) {
    Stage stage;
    stage.forward_flops = profile_.forward_flops(sp.begin, sp.end);
    const int begin = profile_.units[sp.begin].begin, end = profile_.units[sp.end - 1].end;
    int offset = 0;
    for (std::size_t i = 0; i < sp.devices.size(); ++i) {
      stage.replicas.emplace_back(spec_, begin, end, sp.devices[i], sp.shares[i], offset, plan_.micro_batches);
      offset += sp.shares[i];
      Replica& r = stage.replicas.back();
      r.net.copy_from(initial);
      r.optimizer = std::make_unique<torch::optim::SGD>(
          r.net.net()->parameters(),
          torch::optim::SGDOptions(sgd.lr).momentum(sgd.momentum).weight_decay(sgd.weight_decay));
    }
    stages_.push_back(std::move(stage));
  }
}

PipelineExecutor::~PipelineExecutor() = default;

void PipelineExecutor::copy_into(SpecNet& whole) const {
  for (const Stage& s : stages_) s.replicas.front().net.copy_into(whole);
}

PipelineIteration PipelineExecutor::run_iteration(const torch::Tensor& inputs, const torch::Tensor& targets) {
  const int S = plan_.num_stages(), M = plan_.micro_batches, mb = plan_.micro_batch, B = plan_.batch();
  if (inputs.size(0) != B || targets.size(0) != B)
    throw std::invalid_argument("PipelineExecutor: a batch of " + std::to_string(B) + " samples expected");
  PipelineIteration result;
  result.samples = B;
  result.oom_devices = over_memory(plan_, profile_, fleet_, sgd_.momentum > 0);
  if (!result.oom_devices.empty()) {
    result.oom = true;
    return result;
  }

  const Schedule1F1B schedule = schedule_1f1b(plan_, profile_, fleet_);
  result.time_s = schedule.makespan_s;
  std::vector<std::vector<PipelineOp>> queue(S);
  for (const PipelineOp& op : schedule.ops) queue[op.stage].push_back(op);
  std::vector<std::size_t> next(S, 0);
  // acts[p][m]: the tensors stage p reads for micro-batch m (whole micro-batch, in its
  // inputs() order); grads[p][m]: the gradients of stage p's outputs.
  std::vector<std::vector<std::vector<torch::Tensor>>> acts(S, std::vector<std::vector<torch::Tensor>>(M)), grads = acts;
  for (Stage& s : stages_)
    for (Replica& r : s.replicas) r.optimizer->zero_grad();
  double loss_sum = 0;

  auto record = [&](const PipelineOp& op, const Replica& r, double work_s) {
    PipelineOpRecord rec{r.device, op.stage, op.micro_batch, op.kind, op.start_s, op.end_s};
    if (op.kind != PipelineOpKind::kAllReduce) rec.end_s = op.start_s + work_s + fleet_.op_overhead_s;
    result.ops.push_back(rec);
  };

  auto forward = [&](const PipelineOp& op) {
    const int p = op.stage, m = op.micro_batch;
    Stage& stage = stages_[p];
    const bool last = p + 1 == S;
    std::vector<std::vector<torch::Tensor>> outs;
    for (Replica& r : stage.replicas) {
      std::vector<torch::Tensor> in;
      if (p == 0) {
        in.push_back(inputs.narrow(0, std::int64_t(m) * mb + r.offset, r.share));
      } else {
        for (const torch::Tensor& t : acts[p][m]) {
          torch::Tensor mine = t.narrow(0, r.offset, r.share).detach();
          if (mine.is_floating_point()) mine.requires_grad_(true);
          in.push_back(mine);
        }
      }
      std::vector<torch::Tensor> out = r.net.forward(in);
      if (last) {
        const torch::Tensor loss = classification_loss(out[0], targets.narrow(0, std::int64_t(m) * mb + r.offset, r.share));
        loss_sum += loss.item<double>() * r.share;
        r.loss[m] = loss * (static_cast<double>(r.share) / B);
      } else {
        outs.push_back(out);
      }
      r.in[m] = std::move(in), r.out[m] = std::move(out);
      record(op, r, r.share * fleet_.seconds_for(r.device, stage.forward_flops));
    }
    if (last) return;
    std::vector<torch::Tensor> next_in;
    for (std::size_t k = 0; k < outs.front().size(); ++k) {
      std::vector<torch::Tensor> parts;
      for (const auto& o : outs) parts.push_back(o[k].detach());
      next_in.push_back(torch::cat(parts, 0));
    }
    acts[p + 1][m] = std::move(next_in);
    acts[p][m].clear();
  };

  auto backward = [&](const PipelineOp& op) {
    const int p = op.stage, m = op.micro_batch;
    Stage& stage = stages_[p];
    std::vector<std::vector<torch::Tensor>> in_grads;
    for (Replica& r : stage.replicas) {
      if (p + 1 == S) {
        r.loss[m].backward();
      } else {
        std::vector<torch::Tensor> roots, seeds;
        for (std::size_t k = 0; k < r.out[m].size(); ++k)
          if (r.out[m][k].requires_grad() && grads[p][m][k].defined()) {
            roots.push_back(r.out[m][k]);
            seeds.push_back(grads[p][m][k].narrow(0, r.offset, r.share));
          }
        if (!roots.empty()) torch::autograd::backward(roots, seeds);
      }
      std::vector<torch::Tensor> g;
      for (const torch::Tensor& t : r.in[m])
        g.push_back(p > 0 && t.requires_grad() ? grad_or_zeros(t) : torch::Tensor());
      in_grads.push_back(std::move(g));
      r.in[m].clear(), r.out[m].clear(), r.loss[m] = torch::Tensor();
      record(op, r, 2 * r.share * fleet_.seconds_for(r.device, stage.forward_flops));
    }
    grads[p][m].clear();
    if (p == 0) return;
    std::vector<torch::Tensor> prev;
    for (std::size_t k = 0; k < in_grads.front().size(); ++k) {
      if (!in_grads.front()[k].defined()) {
        prev.emplace_back();
        continue;
      }
      std::vector<torch::Tensor> parts;
      for (const auto& g : in_grads) parts.push_back(g[k]);
      prev.push_back(torch::cat(parts, 0));
    }
    grads[p - 1][m] = std::move(prev);
  };

  // Sum of the replicas' gradients in device order, written back into each; BN running
  // statistics averaged.
  auto allreduce = [&](const PipelineOp& op) {
    Stage& stage = stages_[op.stage];
    torch::NoGradGuard no_grad;
    if (stage.replicas.size() > 1) {
      std::vector<std::vector<torch::Tensor>> params;
      for (Replica& r : stage.replicas) params.push_back(r.net.net()->parameters());
      for (std::size_t k = 0; k < params.front().size(); ++k) {
        torch::Tensor sum = grad_or_zeros(params[0][k]).clone();
        for (std::size_t i = 1; i < params.size(); ++i) sum += grad_or_zeros(params[i][k]);
        for (auto& ps : params) ps[k].mutable_grad() = sum.clone();
      }
      std::vector<std::vector<torch::Tensor>> buffers;
      for (Replica& r : stage.replicas) buffers.push_back(r.net.net()->buffers());
      for (std::size_t k = 0; k < buffers.front().size(); ++k) {
        if (!buffers[0][k].is_floating_point()) continue;  // num_batches_tracked: equal on every replica
        torch::Tensor mean = buffers[0][k].clone();
        for (std::size_t i = 1; i < buffers.size(); ++i) mean += buffers[i][k];
        mean /= static_cast<double>(buffers.size());
        for (auto& bs : buffers) bs[k].copy_(mean);
      }
    }
    for (const Replica& r : stage.replicas) record(op, r, 0);
  };

  for (;;) {
    int pick = -1;
    for (int p = 0; p < S; ++p) {
      if (next[p] >= queue[p].size()) continue;
      const PipelineOp& op = queue[p][next[p]];
      const bool ready = op.kind == PipelineOpKind::kAllReduce ||
                         (op.kind == PipelineOpKind::kForward ? (p == 0 || !acts[p][op.micro_batch].empty())
                                                              : (p + 1 == S || !grads[p][op.micro_batch].empty()));
      if (ready && (pick < 0 || op.start_s < queue[pick][next[pick]].start_s)) pick = p;
    }
    if (pick < 0) break;
    const PipelineOp& op = queue[pick][next[pick]++];
    switch (op.kind) {
      case PipelineOpKind::kForward: forward(op); break;
      case PipelineOpKind::kBackward: backward(op); break;
      case PipelineOpKind::kAllReduce: allreduce(op); break;
    }
  }
  for (int p = 0; p < S; ++p)
    if (next[p] != queue[p].size()) throw std::logic_error("PipelineExecutor: the 1F1B order deadlocked");

  // Tied weights: owner and copy add their gradients, in stage order, before both step.
  {
    torch::NoGradGuard no_grad;
    std::map<std::string, std::pair<int, int>> owner;  // whole-model name -> (stage, parameter)
    for (int p = 0; p < S; ++p) {
      const auto own = stages_[p].replicas.front().net.net()->named_parameters();
      for (std::size_t k = 0; k < own.size(); ++k) owner.emplace(own[k].key(), std::make_pair(p, static_cast<int>(k)));
    }
    for (int p = 0; p < S; ++p) {
      const std::vector<std::string> names = stages_[p].replicas.front().net.source_names();
      const auto own = stages_[p].replicas.front().net.net()->named_parameters();
      for (std::size_t k = 0; k < names.size(); ++k) {
        if (names[k] == own[k].key()) continue;
        const auto [q, j] = owner.at(names[k]);
        const auto owner_param = [&](Replica& r) { return r.net.net()->parameters()[j]; };
        const auto user_param = [&](Replica& r) { return r.net.net()->parameters()[k]; };
        torch::Tensor a = grad_or_zeros(owner_param(stages_[q].replicas.front()));
        torch::Tensor b = grad_or_zeros(user_param(stages_[p].replicas.front()));
        const torch::Tensor sum = q < p ? a + b : b + a;
        for (Replica& r : stages_[q].replicas) owner_param(r).mutable_grad() = sum.clone();
        for (Replica& r : stages_[p].replicas) user_param(r).mutable_grad() = sum.clone();
      }
    }
  }
  for (Stage& s : stages_)
    for (Replica& r : s.replicas) r.optimizer->step();
  result.loss = loss_sum / B;
  return result;
}

}  // namespace edgesim
