#include "edgesim/algo/depthfl.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "edgesim/algo/device_rates.hpp"
#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/trainer/trainer.hpp"

namespace edgesim {

double depthfl_distillation_weight(int round, int ramp_rounds) {
  if (ramp_rounds <= 0) return 1.0;
  const double t = std::clamp(double(round - 1), 0.0, double(ramp_rounds));
  const double phase = 1.0 - t / ramp_rounds;
  return std::exp(-5.0 * phase * phase);
}

void feddyn_server_step(torch::Tensor& merged, const torch::Tensor& origin, const torch::Tensor& count,
                        torch::Tensor& h, double alpha, int num_devices, std::int64_t parameters) {
  const auto covered = count > 0;
  const auto m = merged.to(torch::kFloat64), o = origin.to(torch::kFloat64);
  auto h64 = h.to(torch::kFloat64);
  h64 = torch::where(covered, h64 - alpha * count.to(torch::kFloat64) / num_devices * (m - o), h64);
  auto corrected = m.clone();
  auto params = corrected.narrow(0, 0, parameters);
  params.copy_(torch::where(covered.narrow(0, 0, parameters), params - h64.narrow(0, 0, parameters) / alpha, params));
  h = h64.to(torch::kFloat32);
  merged = corrected.to(torch::kFloat32);
}

namespace {

int blocks_of(const ModelSpec& m) { return static_cast<int>(m.blocks.size()); }

int depth_of(const ModelSpec& m, double rate) { return kept_units(blocks_of(m), rate); }

// The classifier levels: ceil(r·B) for every rate a device may get [choice].
std::vector<int> classifier_levels(const Experiment& e) {
  const auto& a = e.config.algorithm;
  std::set<int> levels;
  for (double r : parse_rate_list(a.rates.empty() ? a.rate_levels : a.rates)) levels.insert(depth_of(e.model, r));
  return {levels.begin(), levels.end()};
}

}  // namespace

DepthFL::DepthFL(const Experiment& experiment) : FedAvg(experiment), levels_(classifier_levels(experiment)) {
  rates_ = device_rates(experiment, [&](double r) {
    TaskPlan plan;
    plan.submodel = device_submodel(r);
    configure(0, 1, plan);
    return exits_training_footprint(experiment, plan);
  });
}

SubmodelSpec DepthFL::device_submodel(double rate) const {
  SubmodelSpec sub = scaled_submodel(experiment_.model, rate, Slicing::kDepth);
  for (int level : levels_)
    if (level < sub.depth) sub.exits.push_back(level);
  return sub;
}

std::optional<SubmodelSpec> DepthFL::submodel(int device, int) { return device_submodel(rates_.at(device)); }

void DepthFL::configure(int, int round, TaskPlan& plan) {
  const auto& a = experiment_.config.algorithm;
  plan.trainer = "depthfl";
  plan.options.set("kd_weight", a.depthfl_distillation ? depthfl_distillation_weight(round, a.depthfl_ramp_rounds) : 0.0)
      .set("temperature", a.depthfl_temperature)
      .set("feddyn_alpha", a.feddyn ? a.feddyn_alpha : 0.0);
  if (a.masked_ce) plan.options.set("masked_ce", 1.0);
}

std::vector<double> DepthFL::eval_rates() const {
  const int deepest = depth_of(experiment_.model, *std::max_element(rates_.begin(), rates_.end()));
  std::vector<double> out;
  for (int level : levels_)
    if (level <= deepest) out.push_back(double(level) / blocks_of(experiment_.model));
  return out;
}

SubmodelSpec DepthFL::eval_submodel(const ModelSpec& model, double rate) const {
  return scaled_submodel(model, rate, Slicing::kDepth);
}

int DepthFL::objective_terms() const { return experiment_.model.classifiers(); }

EvaluationRule DepthFL::evaluation_rule() const {
  EvaluationRule rule;
  for (double r : eval_rates()) rule.average_exits.push_back(depth_of(experiment_.model, r));
  return rule;
}

void DepthFL::merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) {
  if (accepted.empty()) return;
  const torch::Tensor origin = global.clone();
  FedAvg::merge(global, accepted);
  const auto& a = experiment_.config.algorithm;
  if (!a.feddyn) return;
  // FedDyn counts the devices that hold each entry, whatever the merge weights.
  auto count = torch::zeros({global.numel()}, torch::kFloat64);
  for (const TaskResult* t : accepted) {
    if (t->gather.defined()) count.index_add_(0, t->gather, torch::ones({t->gather.numel()}, torch::kFloat64));
    else count += 1.0;
  }
  if (!h_.defined()) h_ = torch::zeros({global.numel()});
  feddyn_server_step(global, origin, count, h_, a.feddyn_alpha, experiment_.config.devices.count,
                     experiment_.model.parameter_count());
}

std::string DepthFL::save_state() const {
  ByteWriter w;
  w.list(h_.defined() ? to_floats(h_) : std::vector<float>{});
  return w.out;
}

void DepthFL::load_state(const std::string& state) {
  if (state.empty()) return;
  ByteReader r(state.data(), state.size(), "the DepthFL state in a checkpoint");
  const auto h = r.list<float>("FedDyn's h");
  h_ = h.empty() ? torch::Tensor() : from_floats(h);
}

std::optional<RateAssignment> DepthFL::rate_assignment() const {
  return RateAssignment{rate_rule_description(experiment_) + " (a rate r keeps ceil(r·B) blocks)", rates_, true};
}

}  // namespace edgesim
