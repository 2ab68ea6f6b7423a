#include "edgesim/model/stage.hpp"

#include <map>
#include <stdexcept>

#include "edgesim/pipeline/layer_profile.hpp"

namespace edgesim {
namespace {

const char* const kTiedSuffix = "_tied_weight";

// A stage parameter's name in the whole model: its own, or for a tied copy the embedding's.
std::string whole_name(const ModelSpec& spec, const std::string& name) {
  const std::string suffix = kTiedSuffix;
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return name;
  const std::string head = name.substr(0, name.size() - suffix.size());
  for (const LayerSpec& l : spec.layers)
    if (l.name == head && l.kind == LayerKind::kTiedHead) return spec.layers.at(l.tied_to).name + ".weight";
  throw std::logic_error("StageNet: no tied head '" + head + "'");
}

}  // namespace

StageNet::StageNet(const ModelSpec& spec, int begin, int end)
    : spec_(&spec), begin_(begin), end_(end), last_(end > spec.output()), net_(spec, begin, end) {
  if (end > spec.output() + 1) throw std::invalid_argument("StageNet: range past the model's output (exit heads are not staged)");
  inputs_ = crossing_tensors(spec, begin);
  if (last_)
    outputs_ = {spec.output()};
  else
    outputs_ = crossing_tensors(spec, end);
}

std::vector<torch::Tensor> StageNet::forward(const std::vector<torch::Tensor>& inputs) {
  if (inputs.size() != inputs_.size()) throw std::invalid_argument("StageNet::forward: wrong number of inputs");
  std::vector<torch::Tensor> out(spec_->output() + 1);
  torch::Tensor x;
  for (std::size_t i = 0; i < inputs_.size(); ++i) {
    if (inputs_[i] < 0)
      x = inputs[i];
    else
      out[inputs_[i]] = inputs[i];
  }
  net_->forward_into(x, out);
  std::vector<torch::Tensor> result;
  for (int j : outputs_) result.push_back(out.at(j));
  return result;
}

std::vector<std::string> StageNet::source_names() const {
  std::vector<std::string> names;
  for (const auto& p : net_->named_parameters()) names.push_back(whole_name(*spec_, p.key()));
  return names;
}

void StageNet::copy_from(const SpecNet& whole) {
  torch::NoGradGuard no_grad;
  const auto params = whole->named_parameters();
  const auto buffers = whole->named_buffers();
  for (auto& p : net_->named_parameters()) p.value().copy_(params[whole_name(*spec_, p.key())]);
  for (auto& b : net_->named_buffers()) b.value().copy_(buffers[b.key()]);
}

void StageNet::copy_into(SpecNet& whole) const {
  torch::NoGradGuard no_grad;
  auto params = whole->named_parameters();
  auto buffers = whole->named_buffers();
  for (const auto& p : net_->named_parameters()) {
    const std::string name = whole_name(*spec_, p.key());
    if (name != p.key()) continue;  // a tied copy: the owner's stage writes the weight
    params[name].copy_(p.value());
  }
  for (const auto& b : net_->named_buffers()) buffers[b.key()].copy_(b.value());
}

}  // namespace edgesim
