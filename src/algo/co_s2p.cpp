#include "edgesim/algo/co_s2p.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "edgesim/algo/device_rates.hpp"
#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/trainer/co_s2p_loss.hpp"

namespace edgesim {

int co_s2p_depth(const ModelSpec& model, double rate) {
  const int blocks = static_cast<int>(model.blocks.size());
  if (blocks == 0) throw std::invalid_argument("co-s2p: model " + model.name + " has no blocks to cut in depth");
  const int limit = static_cast<int>(std::floor(rate * blocks + 1e-9));
  int depth = 0, first = 0;
  for (int k = 1; k <= blocks; ++k) {
    const bool ends_with_head = k == blocks || model.blocks[k - 1].has_exit();
    if (!ends_with_head) continue;
    if (first == 0) first = k;
    if (k <= limit) depth = k;
  }
  return depth > 0 ? depth : first;
}

std::vector<double> co_s2p_aggregate(torch::Tensor& global, const std::vector<const TaskResult*>& updates,
                                     std::int64_t parameters) {
  if (updates.empty()) return {};
  const torch::Tensor now = global.to(torch::kFloat64);
  // The received weights of each update's entries, and its delta there (zero elsewhere).
  auto delta_of = [&](const TaskResult& t) {
    const torch::Tensor start = t.start_model.to(torch::kFloat64);
    return t.weights.to(torch::kFloat64) - (t.gather.defined() ? start.index_select(0, t.gather) : start);
  };
  auto parameter_entries = [&](const TaskResult& t) {
    return t.gather.defined() ? t.gather < parameters : torch::arange(now.numel()) < parameters;
  };
  std::vector<double> delta_l1, rates, drift_l1;
  for (const TaskResult* t : updates) {
    delta_l1.push_back(delta_of(*t).abs().masked_select(parameter_entries(*t)).sum().item<double>());
    rates.push_back(t->rate);
    drift_l1.push_back((now - t->start_model.to(torch::kFloat64)).narrow(0, 0, parameters).abs().sum().item<double>());
  }
  const std::vector<double> gamma = staleness_aware_weights(delta_l1, rates, drift_l1);
  torch::Tensor step = torch::zeros_like(now);
  for (std::size_t i = 0; i < updates.size(); ++i) {
    const torch::Tensor d = delta_of(*updates[i]) * gamma[i];
    if (updates[i]->gather.defined()) step.index_add_(0, updates[i]->gather, d);
    else step += d;
  }
  global = (now + step).to(torch::kFloat32);
  return gamma;
}

CoS2P::CoS2P(const Experiment& experiment)
    : FedAvg(experiment), kept_(static_cast<std::size_t>(experiment.config.devices.count)) {
  rates_ = device_rates(experiment, [&](double r) {
    // The largest footprint of the tasks the rate gives (one, or one per position of the rolling
    // window): the distillation round's, with the mask phase when masks are learned (its other
    // options do not change the footprint, and need the rates being derived here).
    RateFootprint largest;
    const std::size_t positions = window_depths(r).size();
    for (std::size_t round = 1; round <= positions; ++round) {
      TaskPlan plan;
      plan.submodel = device_submodel(r, static_cast<int>(round));
      cross_block_options(experiment.config.algorithm.co_s2p_distill_from, plan);
      if (experiment.config.algorithm.co_s2p_width == "learned" && r < 1.0)
        plan.options.set("mask_epochs", experiment.config.algorithm.co_s2p_mask_epochs);
      const RateFootprint f = exits_training_footprint(experiment, plan);
      if (f.memory_bytes > largest.memory_bytes) largest = f;
    }
    return largest;
  });
}

std::vector<int> CoS2P::window_depths(double rate) const {
  const ModelSpec& m = experiment_.model;
  const int deepest = co_s2p_depth(m, rate), blocks = static_cast<int>(m.blocks.size());
  if (experiment_.config.algorithm.co_s2p_window == 0) return {deepest};
  std::vector<int> depths;
  for (int k = 1; k <= deepest; ++k)
    if (k == blocks || m.blocks[k - 1].has_exit()) depths.push_back(k);
  return depths;
}

int CoS2P::frozen_blocks(int depth) const {
  const int window = experiment_.config.algorithm.co_s2p_window;
  return window == 0 ? 0 : std::max(0, depth - window);
}

SubmodelSpec CoS2P::device_submodel(double rate, int round) const {
  const ModelSpec& m = experiment_.model;
  // "learned": the full width, of which the device's masks then keep some.
  SubmodelSpec sub = experiment_.config.algorithm.co_s2p_width == "prefix" ? prefix_submodel(m, rate) : full_submodel(m);
  sub.rate = rate;
  const std::vector<int> depths = window_depths(rate);
  sub.depth = round <= 0 ? depths.back() : depths[static_cast<std::size_t>(round - 1) % depths.size()];
  // A frozen block's exit would train on features nothing else below it learns: left out.
  for (int k = frozen_blocks(sub.depth) + 1; k < sub.depth; ++k)
    if (m.blocks[k - 1].has_exit()) sub.exits.push_back(k);
  return sub;
}

std::vector<int> CoS2P::select(int) {
  std::vector<int> all(static_cast<std::size_t>(experiment_.config.devices.count));
  for (std::size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int>(d);
  return all;
}

bool CoS2P::learns_masks(int device, int round) const {
  const auto& a = experiment_.config.algorithm;
  // A device of rate 1 keeps every unit: nothing to learn.
  return a.co_s2p_width == "learned" && rates_.at(device) < 1.0 &&
         (round <= a.co_s2p_mask_rounds || kept_.at(device).empty());
}

std::optional<SubmodelSpec> CoS2P::submodel(int device, int round) {
  SubmodelSpec sub = device_submodel(rates_.at(device), round);
  if (experiment_.config.algorithm.co_s2p_width != "learned" || kept_.at(device).empty() || learns_masks(device, round))
    return sub;
  // The learned decisions cover the sliceable groups' units in group order.
  const std::vector<std::uint8_t>& keep = kept_.at(device);
  std::size_t at = 0;
  for (std::size_t g = 0; g < experiment_.model.groups.size(); ++g) {
    const UnitGroup& group = experiment_.model.groups[g];
    if (!group.sliceable) continue;
    if (at + group.units > keep.size()) throw std::logic_error("co-s2p: a device's masks do not cover the model");
    sub.kept[g].clear();
    for (int u = 0; u < group.units; ++u)
      if (keep[at + u]) sub.kept[g].push_back(u);
    at += group.units;
  }
  return sub;
}

void CoS2P::cross_block_options(int round, TaskPlan& plan) const {
  const auto& a = experiment_.config.algorithm;
  plan.trainer = "cross_block";
  plan.options.set("gamma", a.co_s2p_gamma)
      .set("temperature", a.co_s2p_temperature)
      .set("distill", round >= a.co_s2p_distill_from ? 1.0 : 0.0);
  const int frozen = plan.submodel ? frozen_blocks(plan.submodel->depth) : 0;
  if (frozen > 0) plan.options.set("frozen_layers", experiment_.model.blocks[frozen - 1].end);
}

void CoS2P::configure(int device, int round, TaskPlan& plan) {
  const auto& a = experiment_.config.algorithm;
  cross_block_options(round, plan);
  if (learns_masks(device, round))
    plan.options.set("mask_epochs", a.co_s2p_mask_epochs)
        .set("mask_rate", rates_.at(device))
        .set("mask_lambda", a.co_s2p_mask_lambda)
        .set("mask_lr", a.co_s2p_mask_lr);
}

void CoS2P::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  for (const TaskResult* t : accepted)
    if (auto it = t->state.find("co_s2p_kept"); it != t->state.end()) {
      const torch::Tensor k = it->second.contiguous();
      std::vector<std::uint8_t>& keep = kept_.at(t->device);
      keep.assign(static_cast<std::size_t>(k.numel()), 0);
      for (std::int64_t i = 0; i < k.numel(); ++i) keep[i] = k.data_ptr<float>()[i] > 0.5f;
    }
  co_s2p_aggregate(global, accepted, experiment_.model.parameter_count());
}

std::string CoS2P::save_state() const {
  ByteWriter w;
  w.pod<std::uint64_t>(kept_.size());
  for (const auto& k : kept_) w.list(k);
  return w.out;
}

void CoS2P::load_state(const std::string& state) {
  if (state.empty()) return;
  ByteReader r(state.data(), state.size(), "the Co-S²P state in a checkpoint");
  const auto n = r.pod<std::uint64_t>("the device count");
  if (n != kept_.size()) throw std::runtime_error("co-s2p checkpoint: " + std::to_string(n) + " devices, not " +
                                                  std::to_string(kept_.size()));
  for (auto& k : kept_) k = r.list<std::uint8_t>("a device's masks");
}

std::vector<double> CoS2P::eval_rates() const {
  const ModelSpec& m = experiment_.model;
  const int blocks = static_cast<int>(m.blocks.size());
  std::set<int> depths;
  for (double r : rates_) {
    const std::vector<int> trained = window_depths(r);
    const SubmodelSpec sub = device_submodel(r);
    depths.insert(trained.begin(), trained.end());
    depths.insert(sub.exits.begin(), sub.exits.end());
  }
  std::vector<double> out;
  for (int k : depths)
    if (k < blocks) out.push_back(double(k) / blocks);
  return out;
}

int CoS2P::objective_terms() const { return experiment_.model.classifiers(); }

SubmodelSpec CoS2P::eval_submodel(const ModelSpec& model, double rate) const {
  SubmodelSpec sub = full_submodel(model);
  sub.rate = rate;
  sub.depth = co_s2p_depth(model, rate);
  return sub;
}

std::optional<RateAssignment> CoS2P::rate_assignment() const {
  return RateAssignment{rate_rule_description(experiment_) + " (a rate r keeps the first floor(r·B) blocks, down to "
                                                             "a block with an exit)",
                        rates_, true};
}

}  // namespace edgesim
