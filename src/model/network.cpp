#include "edgesim/model/network.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace edgesim {

SelfAttentionImpl::SelfAttentionImpl(int model_dim, int heads, int head_dim, bool causal)
    : heads_(heads), head_dim_(head_dim), causal_(causal) {
  q_ = register_module("q", torch::nn::Linear(model_dim, heads * head_dim));
  k_ = register_module("k", torch::nn::Linear(model_dim, heads * head_dim));
  v_ = register_module("v", torch::nn::Linear(model_dim, heads * head_dim));
  o_ = register_module("o", torch::nn::Linear(heads * head_dim, model_dim));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& head_gate) {
  const auto b = x.size(0), t = x.size(1);
  auto split = [&](const torch::Tensor& y) { return y.view({b, t, heads_, head_dim_}).transpose(1, 2); };
  const auto q = split(q_(x)), k = split(k_(x)), v = split(v_(x));
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim_));
  if (causal_) {
    const auto future = torch::ones({t, t}, torch::kBool).triu(1);
    scores = scores.masked_fill(future, -std::numeric_limits<float>::infinity());
  }
  auto ctx = torch::matmul(torch::softmax(scores, -1), v);  // [b, heads, t, head_dim]
  if (head_gate.defined()) ctx = ctx * head_gate.view({1, heads_, 1, 1});
  return o_(ctx.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

ClassTokenImpl::ClassTokenImpl(int dim) {
  weight = register_parameter("weight", torch::zeros({dim}));
  torch::nn::init::normal_(weight, 0.0, 0.02);  // as the positional embedding (and timm's ViT)
}

torch::Tensor ClassTokenImpl::forward(const torch::Tensor& tokens) {
  return torch::cat({weight.view({1, 1, -1}).expand({tokens.size(0), 1, weight.size(0)}), tokens}, 1);
}

SpecNetImpl::SpecNetImpl(const ModelSpec& spec) : SpecNetImpl(spec, 0, static_cast<int>(spec.layers.size())) {}

SpecNetImpl::SpecNetImpl(const ModelSpec& spec, int begin, int end)
    : spec_(spec), begin_(begin), end_(end), layers_(spec.layers.size()) {
  if (begin < 0 || end > static_cast<int>(spec.layers.size()) || begin >= end)
    throw std::invalid_argument("SpecNet: bad layer range");
  for (std::size_t i = static_cast<std::size_t>(begin); i < static_cast<std::size_t>(end); ++i) {
    const LayerSpec& l = spec.layers[i];
    Layer& m = layers_[i];
    switch (l.kind) {
      case LayerKind::kConv2d:
        m.conv = register_module(l.name, torch::nn::Conv2d(torch::nn::Conv2dOptions(spec.width(l.in_group),
                                                                                    spec.width(l.out_group), l.kernel)
                                                               .stride(l.stride)
                                                               .padding(l.padding)
                                                               .bias(l.bias)));
        break;
      case LayerKind::kBatchNorm2d:
        m.bn = register_module(
            l.name, torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(spec.width(l.out_group))
                                               .track_running_stats(l.running_stats)));
        break;
      case LayerKind::kLinear:
        m.linear = register_module(
            l.name, torch::nn::Linear(torch::nn::LinearOptions(std::int64_t(spec.width(l.in_group)) * l.planes,
                                                               spec.width(l.out_group))
                                          .bias(l.bias)));
        break;
      case LayerKind::kEmbedding:
      case LayerKind::kPositionalEmbedding:
        m.embedding = register_module(l.name, torch::nn::Embedding(l.vocab, spec.width(l.out_group)));
        // GPT-2's N(0, 0.02), not LibTorch's N(0, 1): the tied head multiplies by this matrix,
        // and unit-scale rows would start the logits at a spread of ~sqrt(d_model).
        torch::nn::init::normal_(m.embedding->weight, 0.0, 0.02);
        break;
      case LayerKind::kLayerNorm:
        m.norm = register_module(
            l.name, torch::nn::LayerNorm(torch::nn::LayerNormOptions({std::int64_t(spec.width(l.out_group))})));
        break;
      case LayerKind::kSelfAttention: {
        const UnitGroup& heads = spec.groups.at(l.inner_group);
        m.attention = register_module(
            l.name, SelfAttention(spec.width(l.in_group), heads.units, spec.unit_width(l.inner_group), l.causal));
        break;
      }
      case LayerKind::kClassToken:
        m.class_token = register_module(l.name, ClassToken(spec.width(l.out_group)));
        break;
      case LayerKind::kTiedHead:
        // The embedding's weight, registered where the embedding is not: this stage trains a
        // copy whose gradient is exchanged with the owner's (pipeline/executor.hpp).
        if (l.tied_to < begin || l.tied_to >= end)
          tied_weight_ = register_parameter(l.name + "_tied_weight",
                                            torch::zeros({spec.layers.at(l.tied_to).vocab, spec.width(l.in_group)}));
        break;
      case LayerKind::kReLU:
      case LayerKind::kGELU:
      case LayerKind::kMaxPool2d:
      case LayerKind::kGlobalAvgPool:
      case LayerKind::kFlatten:
      case LayerKind::kAdd:
      case LayerKind::kPatchTokens:
      case LayerKind::kTakeClassToken:
        break;  // no parameters
    }
  }
}

void SpecNetImpl::set_active_units(const std::vector<int>& units) {
  masks_.assign(spec_.groups.size(), torch::Tensor());
  for (std::size_t g = 0; g < units.size() && g < spec_.groups.size(); ++g) {
    const UnitGroup& group = spec_.groups[g];
    if (!group.sliceable || units[g] >= group.units) continue;
    auto mask = torch::zeros({spec_.width(static_cast<int>(g))});
    mask.narrow(0, 0, std::int64_t(units[g]) * spec_.unit_width(static_cast<int>(g))).fill_(1.0f);
    masks_[g] = mask;
  }
}

void SpecNetImpl::set_unit_gates(std::vector<torch::Tensor> gates) {
  if (gates.size() > spec_.groups.size()) throw std::invalid_argument("set_unit_gates: more gates than unit groups");
  for (std::size_t g = 0; g < gates.size(); ++g)
    if (gates[g].defined() && gates[g].numel() != spec_.groups[g].units)
      throw std::invalid_argument("set_unit_gates: group " + spec_.groups[g].name + " has " +
                                  std::to_string(spec_.groups[g].units) + " units, not " +
                                  std::to_string(gates[g].numel()));
  gates_ = std::move(gates);
}

void SpecNetImpl::track_cumulative_batchnorm_statistics() {
  for (Layer& m : layers_)
    if (m.bn && m.bn->options.track_running_stats()) {
      m.bn->options.momentum(c10::nullopt);
      m.bn->reset_running_stats();
    }
}

void SpecNetImpl::freeze_layers(int n) {
  for (int i = 0; i < n && i < static_cast<int>(layers_.size()); ++i) {
    Layer& m = layers_[i];
    std::vector<torch::nn::Module*> parts;
    auto add = [&](auto& holder) {
      if (!holder.is_empty()) parts.push_back(holder.get());
    };
    add(m.conv), add(m.bn), add(m.linear), add(m.embedding), add(m.norm), add(m.attention), add(m.class_token);
    for (torch::nn::Module* part : parts)
      for (auto& p : part->parameters()) p.requires_grad_(false);
  }
}

std::vector<torch::Tensor> SpecNetImpl::batchnorm_scales() const {
  std::vector<torch::Tensor> out;
  for (const Layer& m : layers_)
    if (m.bn) out.push_back(m.bn->weight);
  return out;
}

torch::Tensor SpecNetImpl::forward(const torch::Tensor& x) {
  const int output = spec_.output();
  return run_layers(x, output + 1, {output})[output];
}

std::pair<torch::Tensor, torch::Tensor> SpecNetImpl::forward_with_features(const torch::Tensor& x, int back) {
  const int output = spec_.output();
  if (back < 1 || (back > 1 && back > output))
    throw std::invalid_argument("representation " + std::to_string(back) + " layers before the classifier: the model has " +
                                std::to_string(output) + " layers before it");
  const LayerSpec& head = spec_.layers[output];
  const int source = back > 1 ? output - back : !head.inputs.empty() ? head.inputs[0] : output - 1;
  std::vector<torch::Tensor> out = run_layers(x, output + 1, {output, source});
  torch::Tensor z = source < 0 ? x : out[source];
  z = z.dim() == 3 ? z.mean(1) : z.flatten(1);
  return {out[output], z};
}

std::vector<torch::Tensor> SpecNetImpl::forward_exits(const torch::Tensor& x) {
  std::vector<int> heads;
  for (const BlockSpec& b : spec_.blocks)
    if (b.has_exit()) heads.push_back(b.exit_end - 1);
  heads.push_back(spec_.output());
  std::vector<torch::Tensor> out = run_layers(x, static_cast<int>(layers_.size()), heads), logits;
  for (int h : heads) logits.push_back(out[h]);
  return logits;
}

torch::Tensor SpecNetImpl::batchnorm(torch::nn::BatchNorm2d& bn, const LayerSpec& l, const torch::Tensor& in) {
  const torch::Tensor* mask = masks_.empty() || l.out_group < 0 || !masks_[l.out_group].defined() ? nullptr : &masks_[l.out_group];
  if (!mask || !is_training() || !bn->options.track_running_stats()) return bn(in);
  // Ordered dropout: the inactive channels' inputs are zeros, whose batch statistics (mean 0,
  // variance 0) would pull those channels' running statistics toward 0 at every narrow step.
  // They keep what they had; the active channels update as usual.
  torch::Tensor mean, var;
  {
    torch::NoGradGuard no_grad;
    mean = bn->running_mean.clone(), var = bn->running_var.clone();
  }
  torch::Tensor y = bn(in);
  torch::NoGradGuard no_grad;
  const auto active = *mask > 0;
  bn->running_mean.copy_(torch::where(active, bn->running_mean, mean));
  bn->running_var.copy_(torch::where(active, bn->running_var, var));
  return y;
}

torch::Tensor exit_average(SpecNet& net, const torch::Tensor& x, const std::vector<int>& blocks) {
  const ModelSpec& spec = net->spec();
  const int num_blocks = static_cast<int>(spec.blocks.size());
  // forward_exits' position of each block's classifier.
  std::vector<int> position(num_blocks + 1, -1);
  int next = 0;
  for (int b = 1; b <= num_blocks; ++b)
    if (spec.blocks[b - 1].has_exit()) position[b] = next++;
  position[num_blocks] = next;
  const std::vector<torch::Tensor> logits = net->forward_exits(x);
  torch::Tensor sum;
  for (int b : blocks) {
    if (b < 1 || b > num_blocks || position[b] < 0)
      throw std::invalid_argument("model " + spec.name + " has no classifier after block " + std::to_string(b));
    sum = sum.defined() ? sum + logits[position[b]] : logits[position[b]];
  }
  if (!sum.defined()) throw std::invalid_argument("exit_average: no classifier named");
  return sum / static_cast<double>(blocks.size());
}

void SpecNetImpl::forward_into(const torch::Tensor& x, std::vector<torch::Tensor>& out) {
  const int end = std::min(end_, spec_.output() + 1);
  if (static_cast<int>(out.size()) < end) throw std::invalid_argument("SpecNet::forward_into: output vector too short");
  run_range(x, begin_, end, out, nullptr);
}

std::vector<torch::Tensor> SpecNetImpl::run_layers(const torch::Tensor& x, int end, const std::vector<int>& keep) {
  std::vector<torch::Tensor> out(end);
  run_range(x, 0, end, out, torch::GradMode::is_enabled() ? nullptr : &keep);
  return out;
}

void SpecNetImpl::run_range(const torch::Tensor& x, int begin, int end, std::vector<torch::Tensor>& out,
                            const std::vector<int>* keep) {
  // Without autograd nothing else holds a layer's output, so a pass that drops each one after
  // its last reader peaks at the few activations alive at once (what training_memory charges a
  // no-grad pass), not at all of them.
  std::vector<int> last_reader;
  if (keep) {
    last_reader.assign(end, -1);
    for (int i = begin; i < end; ++i) {
      const LayerSpec& l = spec_.layers[i];
      if (l.inputs.empty() && i > 0) last_reader[i - 1] = i;
      for (int j : l.inputs) last_reader[j] = i;
    }
    for (int k : *keep)
      if (k >= 0 && k < end) last_reader[k] = end;
  }
  const bool scale = is_training() && train_scale_ != 1.0;
  for (int i = begin; i < end; ++i) {
    const LayerSpec& l = spec_.layers[i];
    const torch::Tensor& in = !l.inputs.empty() ? out[l.inputs[0]] : (i == 0 ? x : out[i - 1]);
    Layer& m = layers_[i];
    torch::Tensor y;
    switch (l.kind) {
      case LayerKind::kConv2d: y = m.conv(in); break;
      case LayerKind::kBatchNorm2d: y = batchnorm(m.bn, l, in); break;
      case LayerKind::kLinear: y = m.linear(spec_.token_input || l.tokens_in ? in : in.flatten(1)); break;
      case LayerKind::kReLU: y = torch::relu(in); break;
      case LayerKind::kGELU: y = torch::gelu(in); break;
      case LayerKind::kMaxPool2d: y = torch::max_pool2d(in, l.kernel, l.stride); break;
      case LayerKind::kGlobalAvgPool: y = in.mean({2, 3}); break;
      case LayerKind::kFlatten: y = in.flatten(1); break;
      case LayerKind::kAdd: y = out[l.inputs.at(0)] + out[l.inputs.at(1)]; break;
      case LayerKind::kEmbedding: y = m.embedding(in); break;
      case LayerKind::kPositionalEmbedding: y = m.embedding->weight.unsqueeze(0); break;
      case LayerKind::kLayerNorm: y = m.norm(in); break;
      case LayerKind::kSelfAttention:
        y = m.attention(in, l.inner_group >= 0 && l.inner_group < static_cast<int>(gates_.size())
                                ? gates_[l.inner_group]
                                : torch::Tensor());
        break;
      case LayerKind::kTiedHead: {
        const Layer& owner = layers_.at(l.tied_to);
        y = torch::matmul(in, (owner.embedding ? owner.embedding->weight : tied_weight_).t());
        break;
      }
      case LayerKind::kPatchTokens: y = in.flatten(2).transpose(1, 2); break;
      case LayerKind::kClassToken: y = m.class_token(in); break;
      case LayerKind::kTakeClassToken: y = in.select(1, 0); break;
    }
    if (scale && (l.kind == LayerKind::kConv2d ||
                  (l.kind == LayerKind::kLinear && spec_.groups[l.out_group].sliceable)))
      y = y * train_scale_;
    const bool makes_units = l.kind == LayerKind::kConv2d || l.kind == LayerKind::kBatchNorm2d ||
                             l.kind == LayerKind::kLinear;  // BN too: a dropped channel would become its bias
    if (makes_units && !masks_.empty() && l.out_group >= 0 && masks_[l.out_group].defined()) {
      const auto& m = masks_[l.out_group];
      // Channels are dim 1 of images, features the last dim of tokens and flat vectors.
      y = (y.dim() == 4) ? y * m.view({1, -1, 1, 1}) : y * m;
    }
    if (makes_units && l.out_group >= 0 && l.out_group < static_cast<int>(gates_.size()) &&
        gates_[l.out_group].defined()) {
      const torch::Tensor g = gates_[l.out_group].repeat_interleave(spec_.unit_width(l.out_group));
      y = (y.dim() == 4) ? y * g.view({1, -1, 1, 1}) : y * g;
    }
    out[i] = std::move(y);
    if (keep) {
      auto release_if_last = [&](int j) {
        if (j >= 0 && last_reader[j] == i) out[j].reset();
      };
      if (last_reader[i] < 0) out[i].reset();
      if (l.inputs.empty()) release_if_last(i - 1);
      for (int j : l.inputs) release_if_last(j);
    }
  }
}

SpecNet build_network(const ModelSpec& spec) { return SpecNet(spec); }

torch::Tensor flatten_weights(const torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters()) parts.push_back(p.detach().reshape(-1));
  for (const auto& b : module.buffers()) parts.push_back(b.detach().reshape(-1).to(torch::kFloat32));
  return torch::cat(parts).contiguous();
}

void load_parameters(torch::nn::Module& module, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (auto& p : module.parameters()) {
    const std::int64_t n = p.numel();
    if (offset + n > flat.numel()) throw std::runtime_error("weight buffer shorter than the model's parameters");
    p.copy_(flat.narrow(0, offset, n).view(p.sizes()));
    offset += n;
  }
}

void load_weights(torch::nn::Module& module, const torch::Tensor& flat) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  auto take = [&](torch::Tensor t) {
    const std::int64_t n = t.numel();
    if (offset + n > flat.numel()) throw std::runtime_error("weight buffer shorter than the model");
    t.copy_(flat.narrow(0, offset, n).view(t.sizes()));
    offset += n;
  };
  for (auto& p : module.parameters()) take(p);
  for (auto& b : module.buffers()) take(b);
  if (offset != flat.numel()) throw std::runtime_error("weight buffer longer than the model");
}

std::vector<float> to_floats(const torch::Tensor& flat) {
  const auto c = flat.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

torch::Tensor from_floats(const std::vector<float>& floats) {
  return torch::from_blob(const_cast<float*>(floats.data()), {static_cast<std::int64_t>(floats.size())}, torch::kFloat32)
      .clone();
}

torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  torch::Reduction::Reduction reduction) {
  namespace F = torch::nn::functional;
  auto opts = F::CrossEntropyFuncOptions();
  if (reduction == torch::Reduction::Sum) opts = opts.reduction(torch::kSum);
  if (logits.dim() == 3) return F::cross_entropy(logits.reshape({-1, logits.size(-1)}), targets.reshape(-1), opts);
  return F::cross_entropy(logits, targets, opts);
}

}  // namespace edgesim
