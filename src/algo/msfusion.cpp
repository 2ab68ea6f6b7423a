#include "edgesim/algo/msfusion.hpp"

#include <algorithm>
#include <sstream>
#include <stdexcept>

#include "edgesim/algo/device_rates.hpp"
#include "edgesim/algo/round_rules.hpp"
#include "edgesim/common/byte_buffer.hpp"

namespace edgesim {

MsFusion::MsFusion(const Experiment& experiment)
    : FedAvg(experiment), splits_(device_rates(experiment)), level_(experiment.config.algorithm.msfusion_overlap_level) {
  for (double& mu : splits_) mu = std::min(mu, experiment.config.algorithm.msfusion_max_split);
  // Checked here, before any round, rather than in the first task's training.
  const int back = experiment.config.algorithm.msfusion_representation, before = experiment.model.output();
  if (back > 1 && back > before)
    throw std::invalid_argument("algorithm.msfusion_representation = " + std::to_string(back) + ": " +
                                experiment.model.name + " has " + std::to_string(before) +
                                " layers before its classifier");
}

const std::vector<int>& MsFusion::participants(int round) {
  auto it = participants_.find(round);
  if (it != participants_.end()) return it->second;
  if (participants_.size() > 4) participants_.erase(participants_.begin());
  return participants_[round] = FedAvg::select(round);
}

std::optional<SubmodelSpec> MsFusion::split(int device, int round) {
  const std::vector<int>& who = participants(round);
  const auto at = std::find(who.begin(), who.end(), device);
  if (at == who.end()) return std::nullopt;
  const auto& a = experiment_.config.algorithm;
  const int n = static_cast<int>(who.size());
  const double gap = a.msfusion_gap > 0 ? a.msfusion_gap : 1.0 / n;
  const double mu = splits_.at(device);
  SplitWindow w;
  w.participant = static_cast<int>(at - who.begin());
  w.participants = n;
  const double level = round == last_round_ ? last_level_ : level_;  // the level that round used
  w.length = mu > gap ? gap + level * (mu - gap) : mu;
  w.round = round - 1;
  w.shift = a.msfusion_shift;
  w.gap = gap;
  return split_submodel(experiment_.model, w);
}

void MsFusion::configure(int, int, TaskPlan& plan) {
  const auto& a = experiment_.config.algorithm;
  if (a.msfusion_contrastive_weight > 0) {
    plan.trainer = "contrastive";
    plan.options.set("mu", a.msfusion_contrastive_weight).set("tau", a.msfusion_tau);
    plan.options.set("representation", a.msfusion_representation);
  }
}

TaskPlan MsFusion::plan(int device, int round) {
  TaskPlan p = FedAvg::plan(device, round);
  p.serverless = true;
  if (!p.submodel) return p;
  const ModelSpec& model = experiment_.model;
  if (holder_.empty()) holder_.assign(static_cast<std::size_t>(model.state_count()), -1);

  // Downloads: the entries of this window the device did not hold after the last merge, each
  // from the participant that last held it (entries never trained are the seed's, generated).
  std::vector<char> held(holder_.size(), 0);
  if (last_round_ > 0)
    if (const auto before = split(device, static_cast<int>(last_round_)))
      for (std::int64_t i : gather_index(model, *before)) held[static_cast<std::size_t>(i)] = 1;
  std::map<int, std::uint64_t> from;
  for (std::int64_t i : gather_index(model, *p.submodel)) {
    const std::int32_t h = holder_[static_cast<std::size_t>(i)];
    if (h >= 0 && h != device && !held[static_cast<std::size_t>(i)]) from[h] += 4;
  }
  for (const auto& [peer, bytes] : from) p.downloads.push_back({peer, device, bytes});

  // Uploads: the trained window to every peer that shares entries with it (each then averages
  // what it holds; the averages agree because every holder gets every other holder's values).
  for (int peer : participants(round)) {
    if (peer == device) continue;
    const std::int64_t common = common_entries(model, *p.submodel, *split(peer, round));
    if (common > 0) p.uploads.push_back({device, peer, 4 * static_cast<std::uint64_t>(common)});
  }
  return p;
}

void MsFusion::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  FedAvg::merge(global, accepted);
  if (accepted.empty()) return;
  if (holder_.empty()) holder_.assign(static_cast<std::size_t>(global.numel()), -1);
  // Holders: in device order the first trainer of an entry this round becomes its holder.
  std::vector<char> taken(holder_.size(), 0);
  double spread = 0, norm = 0;
  for (const TaskResult* t : accepted) {
    last_round_ = std::max(last_round_, t->round);
    const torch::Tensor merged = t->gather.defined() ? global.index_select(0, t->gather) : global;
    spread += (t->weights - merged).pow(2).sum().item<double>();
    norm += merged.pow(2).sum().item<double>();
    if (!t->gather.defined()) continue;
    const auto* idx = t->gather.data_ptr<std::int64_t>();
    for (std::int64_t k = 0; k < t->gather.numel(); ++k) {
      const auto i = static_cast<std::size_t>(idx[k]);
      if (!taken[i]) taken[i] = 1, holder_[i] = static_cast<std::int32_t>(t->device);
    }
  }
  // The adaptive overlap: more overlap while the peers' models drift apart, less as they agree.
  const auto& a = experiment_.config.algorithm;
  const double dispersion = norm > 0 ? spread / norm : 0.0;
  last_level_ = level_;
  if (a.msfusion_overlap == "adaptive" && last_dispersion_ >= 0) {
    level_ += dispersion > last_dispersion_ ? a.msfusion_overlap_step : -a.msfusion_overlap_step;
    level_ = std::clamp(level_, a.msfusion_overlap_min, 1.0);
  }
  last_dispersion_ = dispersion;
}

std::vector<Transfer> MsFusion::assembly_transfers() const {
  std::map<int, std::uint64_t> bytes;
  for (std::int32_t h : holder_)
    if (h >= 0) bytes[h] += 4;
  std::vector<Transfer> out;
  for (const auto& [device, b] : bytes) out.push_back({device, kServer, b});
  return out;
}

std::string MsFusion::save_state() const {
  ByteWriter w;
  w.pod(level_);
  w.pod(last_level_);
  w.pod(last_dispersion_);
  w.pod(last_round_);
  w.list(holder_);
  return w.out;
}

void MsFusion::load_state(const std::string& state) {
  if (state.empty()) return;
  ByteReader r(state.data(), state.size(), "MSfusion's checkpointed state");
  level_ = r.pod<double>("the overlap level");
  last_level_ = r.pod<double>("the last round's overlap level");
  last_dispersion_ = r.pod<double>("the dispersion");
  last_round_ = r.pod<std::int64_t>("the last round");
  holder_ = r.list<std::int32_t>("the holders");
}

std::optional<RateAssignment> MsFusion::rate_assignment() const {
  return RateAssignment{rate_rule_description(experiment_) + ", capped at algorithm.msfusion_max_split", splits_,
                        experiment_.config.algorithm.msfusion_overlap == "fixed"};
}

}  // namespace edgesim
