#include "edgesim/runtime/stage_worker.hpp"

#include <algorithm>
#include <optional>
#include <stdexcept>

#include "edgesim/device/memory_meter.hpp"
#include <utility>

namespace edgesim {

// One device's copy of its stage, with what 1F1B keeps of each micro-batch in flight.
struct StageWorker::Replica {
  Replica(const ModelSpec& spec, int begin, int end, int device_, int share_, int offset_, int micro_batches)
      : net(spec, begin, end), device(device_), share(share_), offset(offset_), in(micro_batches),
        out(micro_batches), loss(micro_batches) {}
  StageNet net;
  std::unique_ptr<torch::optim::SGD> optimizer;
  int device, share, offset;  // samples [offset, offset + share) of every micro-batch
  std::vector<std::vector<torch::Tensor>> in, out;
  std::vector<torch::Tensor> loss;  // last stage: its scaled loss per micro-batch
  ReplicaReport report;
  std::unique_ptr<MemoryAccount> account;  // when metering
  std::vector<torch::Tensor> saved_buffers;  // BN statistics before the iteration
  std::map<std::string, torch::Tensor> backup;  // take_backup()'s copy (StageWorker::state_of)
};

struct StageWorker::Stage {
  std::vector<int> devices, offsets, shares;       // every device of the stage, plan order
  std::vector<std::unique_ptr<Replica>> replicas;  // the hosted ones, plan order
};

namespace {

// While alive, the replica's allocations are charged to its account (if it has one).
class Charge {
 public:
  explicit Charge(MemoryAccount* account) {
    if (account) charging_.emplace(*account);
  }

 private:
  std::optional<MemoryAccount::Charging> charging_;
};

torch::Tensor grad_or_zeros(const torch::Tensor& p) { return p.grad().defined() ? p.grad() : torch::zeros_like(p); }

// Samples [a, a + n) of a micro-batch that two devices' shares have in common (n 0: none).
struct Overlap {
  int begin = 0, count = 0;
};
Overlap overlap(int offset_a, int share_a, int offset_b, int share_b) {
  const int lo = std::max(offset_a, offset_b), hi = std::min(offset_a + share_a, offset_b + share_b);
  return {lo, std::max(0, hi - lo)};
}

// Rows [begin, begin + count) of a device's tensors whose first row is sample `offset`.
std::vector<torch::Tensor> rows(const std::vector<torch::Tensor>& ts, int offset, Overlap o) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& t : ts) out.push_back(t.defined() ? t.detach().narrow(0, o.begin - offset, o.count) : t);
  return out;
}

// Joins the pieces (in sample order) tensor by tensor; an undefined tensor stays undefined.
std::vector<torch::Tensor> join(const std::vector<std::vector<torch::Tensor>>& pieces) {
  if (pieces.size() == 1) return pieces.front();
  std::vector<torch::Tensor> out;
  for (std::size_t k = 0; k < pieces.front().size(); ++k) {
    if (!pieces.front()[k].defined()) {
      out.emplace_back();
      continue;
    }
    std::vector<torch::Tensor> parts;
    for (const auto& p : pieces) parts.push_back(p.at(k));
    out.push_back(torch::cat(parts, 0));
  }
  return out;
}

std::vector<torch::Tensor> float_buffers(SpecNet& net) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& b : net->buffers())
    if (b.is_floating_point()) out.push_back(b);  // num_batches_tracked: equal on every replica
  return out;
}

// The optimizer's state of a parameter is keyed by its tensor (torch/optim/serialize.h does the same).
std::string state_key(const torch::Tensor& p) { return c10::guts::to_string(p.unsafeGetTensorImpl()); }

// A replica's weights, buffers and momentum by whole-model name (tied copies left out).
std::map<std::string, torch::Tensor> replica_state(StageNet& net, torch::optim::SGD& optimizer) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> out;
  const std::vector<std::string> names = net.source_names();
  const auto own = net.net()->named_parameters();
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (names[k] != own[k].key()) continue;
    out[names[k]] = own[k].value().detach().clone();
    const auto it = optimizer.state().find(state_key(own[k].value()));
    if (it != optimizer.state().end()) {
      const auto& st = static_cast<const torch::optim::SGDParamState&>(*it->second);
      if (st.momentum_buffer().defined()) out["momentum:" + names[k]] = st.momentum_buffer().detach().clone();
    }
  }
  for (const auto& b : net.net()->named_buffers()) out[b.key()] = b.value().detach().clone();
  return out;
}

}  // namespace

StageWorker::StageWorker(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const SgdSettings& sgd,
                         const SpecNet& initial, const std::vector<int>& hosted, StageLink& link, bool meter_memory)
    : spec_(spec), plan_(plan), sgd_(sgd), link_(link) {
  build(profile, hosted, meter_memory, [&](Replica& r) { r.net.copy_from(initial); });
}

StageWorker::StageWorker(const ModelSpec& spec, const LayerProfile& profile, const Plan& plan, const SgdSettings& sgd,
                         const std::map<std::string, torch::Tensor>& state, const std::vector<int>& hosted,
                         StageLink& link, bool meter_memory)
    : spec_(spec), plan_(plan), sgd_(sgd), link_(link) {
  build(profile, hosted, meter_memory, [&](Replica& r) {
    torch::NoGradGuard no_grad;
    const std::vector<std::string> names = r.net.source_names();
    const auto params = r.net.net()->parameters();
    auto find = [&](const std::string& name) -> const torch::Tensor& {
      const auto it = state.find(name);
      if (it == state.end()) throw std::logic_error("StageWorker: the snapshot has no '" + name + "'");
      return it->second;
    };
    for (std::size_t k = 0; k < names.size(); ++k) params[k].copy_(find(names[k]));  // a tied copy: its owner's
    for (auto& b : r.net.net()->named_buffers()) b.value().copy_(find(b.key()));
    if (!r.optimizer) return;
    for (std::size_t k = 0; k < names.size(); ++k) {
      const auto it = state.find("momentum:" + names[k]);
      if (it == state.end()) continue;
      auto st = std::make_unique<torch::optim::SGDParamState>();
      st->momentum_buffer(it->second.clone());
      r.optimizer->state()[state_key(params[k])] = std::move(st);
    }
  });
}

void StageWorker::build(const LayerProfile& profile, const std::vector<int>& hosted, bool meter_memory, const Init& init) {
  const SgdSettings& sgd = sgd_;
  if (meter_memory) install_counting_allocator();
  std::vector<std::vector<std::string>> source_names(plan_.stages.size()), own_names(plan_.stages.size());
  for (std::size_t p = 0; p < plan_.stages.size(); ++p) {
    const StagePlan& sp = plan_.stages[p];
    Stage stage;
    const int begin = profile.units[sp.begin].begin, end = profile.units[sp.end - 1].end;
    int offset = 0;
    for (std::size_t i = 0; i < sp.devices.size(); ++i) {
      stage.devices.push_back(sp.devices[i]), stage.offsets.push_back(offset), stage.shares.push_back(sp.shares[i]);
      if (std::find(hosted.begin(), hosted.end(), sp.devices[i]) != hosted.end()) {
        std::unique_ptr<MemoryAccount> account = meter_memory ? std::make_unique<MemoryAccount>() : nullptr;
        std::unique_ptr<Replica> r;
        {
          const Charge charge(account.get());  // its weights are part of its footprint
          r = std::make_unique<Replica>(spec_, begin, end, sp.devices[i], sp.shares[i], offset, plan_.micro_batches);
          r->optimizer = std::make_unique<torch::optim::SGD>(
              r->net.net()->parameters(),
              torch::optim::SGDOptions(sgd.lr).momentum(sgd.momentum).weight_decay(sgd.weight_decay));
          init(*r);  // weights, buffers (and from a snapshot, momentum) charged to the replica too
        }
        r->account = std::move(account);
        r->report.device = sp.devices[i];
        stage.replicas.push_back(std::move(r));
      }
      offset += sp.shares[i];
    }
    // Parameter names of every stage (hosted or not), to pair tied copies with their owners.
    StageNet names(spec_, begin, end);
    source_names[p] = names.source_names();
    for (const auto& np : names.net()->named_parameters()) own_names[p].push_back(np.key());
    stages_.push_back(std::move(stage));
  }
  for (std::size_t p = 0; p < stages_.size(); ++p)
    for (std::size_t k = 0; k < source_names[p].size(); ++k) {
      if (source_names[p][k] == own_names[p][k]) continue;
      bool found = false;
      for (std::size_t q = 0; q < stages_.size() && !found; ++q)
        for (std::size_t j = 0; j < own_names[q].size() && !found; ++j)
          if (own_names[q][j] == source_names[p][k] && source_names[q][j] == own_names[q][j]) {
            tied_.push_back({static_cast<int>(q), static_cast<int>(j), static_cast<int>(p), static_cast<int>(k)});
            found = true;
          }
      if (!found) throw std::logic_error("StageWorker: no stage owns '" + source_names[p][k] + "'");
    }
}

StageWorker::~StageWorker() = default;

bool StageWorker::hosts_any() const {
  for (const Stage& s : stages_)
    if (!s.replicas.empty()) return true;
  return false;
}

void StageWorker::forward(int p, int m, const torch::Tensor& inputs, const torch::Tensor& targets) {
  const int S = plan_.num_stages(), mb = plan_.micro_batch, B = plan_.batch();
  for (auto& rp : stages_[p].replicas) {
    Replica& r = *rp;
    const Charge charge(r.account.get());
    std::vector<torch::Tensor> in;
    if (p == 0) {
      in.push_back(inputs.narrow(0, std::int64_t(m) * mb + r.offset, r.share));
    } else {
      const Stage& prev = stages_[p - 1];
      std::vector<std::vector<torch::Tensor>> pieces;
      for (std::size_t j = 0; j < prev.devices.size(); ++j) {
        if (overlap(r.offset, r.share, prev.offsets[j], prev.shares[j]).count == 0) continue;
        std::size_t bytes = 0;
        pieces.push_back(link_.receive({StageMessageKind::kActivation, p, m, prev.devices[j], r.device}, &bytes));
        r.report.bytes_received += static_cast<std::int64_t>(bytes);
      }
      in = join(pieces);
      for (torch::Tensor& t : in)
        if (t.is_floating_point()) t.requires_grad_(true);
    }
    std::vector<torch::Tensor> out = r.net.forward(in);
    if (p + 1 == S) {
      const torch::Tensor loss =
          classification_loss(out[0], targets.narrow(0, std::int64_t(m) * mb + r.offset, r.share));
      r.report.loss_terms[m] = loss.item<double>() * r.share;
      r.loss[m] = loss * (static_cast<double>(r.share) / B);
    } else {
      const Stage& next = stages_[p + 1];
      for (std::size_t j = 0; j < next.devices.size(); ++j) {
        const Overlap o = overlap(r.offset, r.share, next.offsets[j], next.shares[j]);
        if (o.count == 0) continue;
        r.report.bytes_sent += static_cast<std::int64_t>(
            link_.send({StageMessageKind::kActivation, p + 1, m, r.device, next.devices[j]}, rows(out, r.offset, o)));
      }
    }
    r.in[m] = std::move(in), r.out[m] = std::move(out);
  }
}

void StageWorker::backward(int p, int m) {
  const int S = plan_.num_stages();
  for (auto& rp : stages_[p].replicas) {
    Replica& r = *rp;
    const Charge charge(r.account.get());
    if (p + 1 == S) {
      r.loss[m].backward();
    } else {
      const Stage& next = stages_[p + 1];
      std::vector<std::vector<torch::Tensor>> pieces;
      for (std::size_t j = 0; j < next.devices.size(); ++j) {
        if (overlap(r.offset, r.share, next.offsets[j], next.shares[j]).count == 0) continue;
        std::size_t bytes = 0;
        pieces.push_back(link_.receive({StageMessageKind::kGradient, p, m, next.devices[j], r.device}, &bytes));
        r.report.bytes_received += static_cast<std::int64_t>(bytes);
      }
      const std::vector<torch::Tensor> seeds_in = join(pieces);
      std::vector<torch::Tensor> roots, seeds;
      for (std::size_t k = 0; k < r.out[m].size(); ++k)
        if (r.out[m][k].requires_grad() && seeds_in.at(k).defined()) {
          roots.push_back(r.out[m][k]);
          seeds.push_back(seeds_in[k]);
        }
      if (!roots.empty()) torch::autograd::backward(roots, seeds);
    }
    if (p > 0) {
      std::vector<torch::Tensor> g;
      for (const torch::Tensor& t : r.in[m]) g.push_back(t.requires_grad() ? grad_or_zeros(t) : torch::Tensor());
      const Stage& prev = stages_[p - 1];
      for (std::size_t j = 0; j < prev.devices.size(); ++j) {
        const Overlap o = overlap(r.offset, r.share, prev.offsets[j], prev.shares[j]);
        if (o.count == 0) continue;
        r.report.bytes_sent += static_cast<std::int64_t>(
            link_.send({StageMessageKind::kGradient, p - 1, m, r.device, prev.devices[j]}, rows(g, r.offset, o)));
      }
    }
    r.in[m].clear(), r.out[m].clear(), r.loss[m] = torch::Tensor();
  }
}

// Gather to the stage's first device, sum (gradients) and mean (BN statistics) in device
// order, the result sent back to every other device. Sends first, then receives, so replicas
// of one stage on one rank never wait for each other.
void StageWorker::allreduce(int p) {
  Stage& stage = stages_[p];
  if (stage.devices.size() < 2) return;
  torch::NoGradGuard no_grad;
  const int first = stage.devices.front();
  auto state_of = [](Replica& r) {
    std::vector<torch::Tensor> v;
    for (const torch::Tensor& q : r.net.net()->parameters()) v.push_back(grad_or_zeros(q));
    for (const torch::Tensor& b : float_buffers(r.net.net())) v.push_back(b);
    return v;
  };
  auto set_state = [](Replica& r, const std::vector<torch::Tensor>& v) {
    auto params = r.net.net()->parameters();
    auto buffers = float_buffers(r.net.net());
    if (v.size() != params.size() + buffers.size()) throw std::logic_error("StageWorker: all-reduce of the wrong size");
    for (std::size_t k = 0; k < params.size(); ++k) params[k].mutable_grad() = v[k].clone();
    for (std::size_t k = 0; k < buffers.size(); ++k) buffers[k].copy_(v[params.size() + k]);
  };
  for (auto& rp : stage.replicas)
    if (rp->device != first) {
      const Charge charge(rp->account.get());
      rp->report.bytes_sent += static_cast<std::int64_t>(
          link_.send({StageMessageKind::kReduceIn, p, 0, rp->device, first}, state_of(*rp)));
    }
  if (!stage.replicas.empty() && stage.replicas.front()->device == first) {
    Replica& root = *stage.replicas.front();
    const Charge charge(root.account.get());
    const std::size_t grads = root.net.net()->parameters().size();
    std::vector<torch::Tensor> acc;
    for (const torch::Tensor& t : state_of(root)) acc.push_back(t.clone());
    for (std::size_t i = 1; i < stage.devices.size(); ++i) {
      std::size_t bytes = 0;
      const auto v = link_.receive({StageMessageKind::kReduceIn, p, 0, stage.devices[i], first}, &bytes);
      root.report.bytes_received += static_cast<std::int64_t>(bytes);
      for (std::size_t k = 0; k < acc.size(); ++k) acc[k] += v.at(k);
    }
    for (std::size_t k = grads; k < acc.size(); ++k) acc[k] /= static_cast<double>(stage.devices.size());
    set_state(root, acc);
    for (std::size_t i = 1; i < stage.devices.size(); ++i)
      root.report.bytes_sent +=
          static_cast<std::int64_t>(link_.send({StageMessageKind::kReduceOut, p, 0, first, stage.devices[i]}, acc));
  }
  for (auto& rp : stage.replicas) {
    if (rp->device == first) continue;
    const Charge charge(rp->account.get());
    std::size_t bytes = 0;
    const auto v = link_.receive({StageMessageKind::kReduceOut, p, 0, first, rp->device}, &bytes);
    rp->report.bytes_received += static_cast<std::int64_t>(bytes);
    set_state(*rp, v);
  }
}

// Owner and copy of a tied weight: each stage's first device sends its (all-reduced) gradient
// to every device of the other stage; every device adds the two in stage order.
void StageWorker::exchange_tied() {
  torch::NoGradGuard no_grad;
  auto param = [](Replica& r, int k) { return r.net.net()->parameters()[k]; };
  for (std::size_t i = 0; i < tied_.size(); ++i) {
    const TiedPair& t = tied_[i];
    const int sides[2][3] = {{t.owner_stage, t.owner_param, t.user_stage}, {t.user_stage, t.user_param, t.owner_stage}};
    for (const auto& side : sides) {
      Stage& from = stages_[side[0]];
      if (from.replicas.empty() || from.replicas.front()->device != from.devices.front()) continue;
      Replica& r = *from.replicas.front();
      const Charge charge(r.account.get());
      for (int d : stages_[side[2]].devices)
        r.report.bytes_sent += static_cast<std::int64_t>(
            link_.send({StageMessageKind::kTied, side[0], static_cast<int>(i), r.device, d}, {grad_or_zeros(param(r, side[1]))}));
    }
  }
  for (std::size_t i = 0; i < tied_.size(); ++i) {
    const TiedPair& t = tied_[i];
    const int sides[2][4] = {{t.owner_stage, t.owner_param, t.user_stage, 0}, {t.user_stage, t.user_param, t.owner_stage, 1}};
    for (const auto& side : sides) {
      const bool is_owner = side[3] == 0;
      for (auto& rp : stages_[side[0]].replicas) {
        const Charge charge(rp->account.get());
        std::size_t bytes = 0;
        const int other_first = stages_[side[2]].devices.front();
        const torch::Tensor other =
            link_.receive({StageMessageKind::kTied, side[2], static_cast<int>(i), other_first, rp->device}, &bytes).at(0);
        rp->report.bytes_received += static_cast<std::int64_t>(bytes);
        torch::Tensor p = param(*rp, side[1]);
        const torch::Tensor own = grad_or_zeros(p);
        const torch::Tensor& a = is_owner ? own : other;  // the owner's gradient
        const torch::Tensor& b = is_owner ? other : own;  // the copy's
        p.mutable_grad() = t.owner_stage < t.user_stage ? a + b : b + a;
      }
    }
  }
}

std::vector<ReplicaReport> StageWorker::run_ops(const std::vector<PipelineOp>& order, const torch::Tensor& inputs,
                                                const torch::Tensor& targets) {
  for (Stage& s : stages_)
    for (auto& r : s.replicas) {
      {
        torch::NoGradGuard no_grad;  // not charged: the simulator's copy, not the device's
        r->saved_buffers.clear();
        for (const torch::Tensor& b : r->net.net()->buffers()) r->saved_buffers.push_back(b.clone());
      }
      const Charge charge(r->account.get());
      r->optimizer->zero_grad();
      if (r->account) r->account->reset_peak();
      r->report.bytes_sent = r->report.bytes_received = 0;
      r->report.loss_terms.assign(&s == &stages_.back() ? plan_.micro_batches : 0, 0.0);
    }
  for (const PipelineOp& op : order) {
    if (stages_[op.stage].replicas.empty()) continue;
    switch (op.kind) {
      case PipelineOpKind::kForward: forward(op.stage, op.micro_batch, inputs, targets); break;
      case PipelineOpKind::kBackward: backward(op.stage, op.micro_batch); break;
      case PipelineOpKind::kAllReduce: allreduce(op.stage); break;
    }
  }
  exchange_tied();
  link_.flush();
  std::vector<ReplicaReport> reports;
  for (Stage& s : stages_)
    for (auto& r : s.replicas) {
      r->report.peak_memory_bytes = r->account ? static_cast<std::int64_t>(r->account->peak_bytes()) : 0;
      reports.push_back(r->report);
    }
  std::sort(reports.begin(), reports.end(), [](const ReplicaReport& a, const ReplicaReport& b) { return a.device < b.device; });
  return reports;
}

void StageWorker::finish(bool apply) {
  for (Stage& s : stages_)
    for (auto& r : s.replicas) {
      const Charge charge(r->account.get());
      if (apply) {
        r->optimizer->step();
      } else {
        torch::NoGradGuard no_grad;
        r->optimizer->zero_grad();
        auto buffers = r->net.net()->buffers();
        for (std::size_t k = 0; k < buffers.size(); ++k) buffers[k].copy_(r->saved_buffers.at(k));
      }
      r->saved_buffers.clear();
    }
}

void StageWorker::reshare(const Plan& plan) {
  if (plan.stages.size() != plan_.stages.size() || plan.micro_batch != plan_.micro_batch ||
      plan.micro_batches != plan_.micro_batches)
    throw std::logic_error("StageWorker::reshare: only a stage's devices and shares may change");
  for (std::size_t p = 0; p < stages_.size(); ++p) {
    const StagePlan& sp = plan.stages[p];
    Stage& stage = stages_[p];
    if (sp.begin != plan_.stages[p].begin || sp.end != plan_.stages[p].end)
      throw std::logic_error("StageWorker::reshare: the stages' layers changed");
    stage.devices.clear(), stage.offsets.clear(), stage.shares.clear();
    int offset = 0;
    for (std::size_t i = 0; i < sp.devices.size(); ++i) {
      stage.devices.push_back(sp.devices[i]), stage.offsets.push_back(offset), stage.shares.push_back(sp.shares[i]);
      offset += sp.shares[i];
    }
    std::vector<std::unique_ptr<Replica>> kept;
    for (auto& r : stage.replicas) {
      const auto it = std::find(sp.devices.begin(), sp.devices.end(), r->device);
      if (it == sp.devices.end()) continue;  // that device is gone: its replica with it
      const std::size_t i = static_cast<std::size_t>(it - sp.devices.begin());
      r->share = stage.shares[i], r->offset = stage.offsets[i];
      kept.push_back(std::move(r));
    }
    stage.replicas = std::move(kept);
  }
  plan_ = plan;
}

std::map<std::string, torch::Tensor> StageWorker::first_replica_state() const {
  std::map<std::string, torch::Tensor> out;
  for (const Stage& s : stages_) {
    if (s.replicas.empty() || s.replicas.front()->device != s.devices.front()) continue;
    StageNet& net = s.replicas.front()->net;
    const std::vector<std::string> names = net.source_names();
    const auto own = net.net()->named_parameters();
    for (std::size_t k = 0; k < names.size(); ++k)
      if (names[k] == own[k].key()) out[names[k]] = own[k].value().detach().clone();
    for (const auto& b : net.net()->named_buffers()) out[b.key()] = b.value().detach().clone();
  }
  return out;
}

void StageWorker::take_backup() {
  for (Stage& s : stages_)
    for (auto& r : s.replicas) r->backup = replica_state(r->net, *r->optimizer);
}

std::map<std::string, torch::Tensor> StageWorker::snapshot(const std::vector<int>& from_backup) const {
  std::map<std::string, torch::Tensor> out;
  for (std::size_t p = 0; p < stages_.size(); ++p) {
    const Stage& s = stages_[p];
    if (s.replicas.empty() || s.replicas.front()->device != s.devices.front()) continue;
    Replica& r = *s.replicas.front();
    const bool backup = std::find(from_backup.begin(), from_backup.end(), static_cast<int>(p)) != from_backup.end();
    if (backup && r.backup.empty()) throw std::logic_error("StageWorker: stage " + std::to_string(p) + " has no backup");
    const std::map<std::string, torch::Tensor> state = backup ? r.backup : replica_state(r.net, *r.optimizer);
    out.insert(state.begin(), state.end());
  }
  return out;
}

void StageWorker::copy_into(SpecNet& whole) const {
  for (const Stage& s : stages_)
    if (!s.replicas.empty() && s.replicas.front()->device == s.devices.front()) s.replicas.front()->net.copy_into(whole);
}

}  // namespace edgesim
