#include "edgesim/model/spec.hpp"

#include <stdexcept>

#include "edgesim/model/spec_builder.hpp"

namespace edgesim {
namespace {

void layer_parameters(const LayerSpec& l, int index, std::vector<ParamSpec>& out) {
  auto p = [&](const char* what, std::vector<ParamDim> dims) { out.push_back({l.name + "." + what, dims, index}); };
  const ParamDim in{l.in_group}, outg{l.out_group};
  switch (l.kind) {
    case LayerKind::kConv2d:
      p("weight", {outg, in, {-1, std::int64_t(l.kernel) * l.kernel}});
      if (l.bias) p("bias", {outg});
      break;
    case LayerKind::kLinear:
      // After a flatten the input is channels x (h·w): slicing channels keeps whole planes.
      p("weight", {outg, in, {-1, l.planes}});
      if (l.bias) p("bias", {outg});
      break;
    case LayerKind::kBatchNorm2d:
    case LayerKind::kLayerNorm:
      p("weight", {outg});
      p("bias", {outg});
      break;
    case LayerKind::kEmbedding:
    case LayerKind::kPositionalEmbedding:
      p("weight", {{-1, l.vocab}, outg});
      break;
    case LayerKind::kSelfAttention: {
      const ParamDim heads{l.inner_group};
      for (const char* m : {"q", "k", "v"}) {
        p((std::string(m) + ".weight").c_str(), {heads, in});
        p((std::string(m) + ".bias").c_str(), {heads});
      }
      p("o.weight", {outg, heads});
      p("o.bias", {outg});
      break;
    }
    case LayerKind::kClassToken:
      p("weight", {outg});
      break;
    case LayerKind::kReLU:
    case LayerKind::kGELU:
    case LayerKind::kMaxPool2d:
    case LayerKind::kGlobalAvgPool:
    case LayerKind::kFlatten:
    case LayerKind::kAdd:
    case LayerKind::kTiedHead:  // reuses its embedding's weight
    case LayerKind::kPatchTokens:
    case LayerKind::kTakeClassToken:
      break;
  }
}

}  // namespace

std::vector<ParamSpec> ModelSpec::parameters() const {
  std::vector<ParamSpec> out;
  for (std::size_t i = 0; i < layers.size(); ++i) layer_parameters(layers[i], static_cast<int>(i), out);
  return out;
}

std::vector<ParamSpec> ModelSpec::buffers() const {
  std::vector<ParamSpec> out;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& l = layers[i];
    if (l.kind != LayerKind::kBatchNorm2d || !l.running_stats) continue;
    const int at = static_cast<int>(i);
    out.push_back({l.name + ".running_mean", {{l.out_group}}, at});
    out.push_back({l.name + ".running_var", {{l.out_group}}, at});
    out.push_back({l.name + ".num_batches_tracked", {{-1, 1}}, at});
  }
  return out;
}

namespace {
std::int64_t count(const ModelSpec& spec, const std::vector<ParamSpec>& params) {
  std::int64_t n = 0;
  for (const auto& p : params) {
    std::int64_t e = 1;
    for (const auto& d : p.dims) e *= spec.extent(d);
    n += e;
  }
  return n;
}
}  // namespace

std::string model_tensor_shapes(const ModelSpec& spec) {
  std::string out;
  for (const auto& list : {spec.parameters(), spec.buffers()})
    for (const auto& p : list) {
      out += p.name + " ";
      for (std::size_t i = 0; i < p.dims.size(); ++i) out += (i ? "x" : "") + std::to_string(spec.extent(p.dims[i]));
      out += "\n";
    }
  return out;
}

std::int64_t ModelSpec::parameter_count() const { return count(*this, parameters()); }

int ModelSpec::classifiers() const {
  int n = 1;
  for (const BlockSpec& b : blocks) n += b.has_exit() ? 1 : 0;
  return n;
}
std::int64_t ModelSpec::state_count() const { return parameter_count() + count(*this, buffers()); }

// --- SpecBuilder -------------------------------------------------------------------------

SpecBuilder::SpecBuilder(ModelSpec& spec, int channels, int h, int w) : spec_(spec), h_(h), w_(w) {
  spec_.input_group = group("input", channels, 1, false);
  spec_.in_h = h, spec_.in_w = w;
  group_ = spec_.input_group;
}

SpecBuilder::SpecBuilder(ModelSpec& spec, int seq_len) : spec_(spec), group_(-1), h_(seq_len), w_(1) {
  spec_.token_input = true;
  spec_.in_h = seq_len, spec_.in_w = 1;
  spec_.input_group = -1;
}

namespace {
// Whether layer l outputs an image model's token sequence.
bool outputs_sequence(const LayerSpec& l) {
  return l.kind == LayerKind::kPatchTokens || (l.tokens_in && l.kind != LayerKind::kTakeClassToken);
}
}  // namespace

SpecBuilder::SpecBuilder(ModelSpec& spec) : spec_(spec) {
  if (spec_.layers.empty()) throw std::invalid_argument("SpecBuilder: no layers to continue from");
  const LayerSpec& l = spec_.layers.back();
  group_ = l.out_group, h_ = l.out_h, w_ = l.out_w, sequence_ = outputs_sequence(l);
}

int SpecBuilder::group(const std::string& name, int units, int unit_width, bool sliceable) {
  if (units < 1) throw std::invalid_argument("unit group '" + name + "' needs at least one unit");
  spec_.groups.push_back({name, units, unit_width, sliceable});
  return static_cast<int>(spec_.groups.size()) - 1;
}

void SpecBuilder::from(int layer) {
  const LayerSpec& l = spec_.layers.at(layer);
  group_ = l.out_group, h_ = l.out_h, w_ = l.out_w, sequence_ = outputs_sequence(l);
  from_ = layer;
}

void SpecBuilder::begin_block() {
  if (block_begin_ >= 0) throw std::invalid_argument("begin_block: the previous block is still open");
  block_begin_ = last() + 1;
}

void SpecBuilder::end_block() {
  if (block_begin_ < 0 || block_begin_ > last()) throw std::invalid_argument("end_block: no layer since begin_block");
  spec_.blocks.push_back({block_begin_, last() + 1});
  block_begin_ = -1;
}

int SpecBuilder::push(LayerSpec l) {
  l.name = "l" + std::to_string(spec_.layers.size());
  if (from_ != -2 && l.inputs.empty()) l.inputs = {from_};
  from_ = -2;
  if (l.out_h < 1 || l.out_w < 1) throw std::invalid_argument("model input too small for its layers");
  if (sequence_ && l.kind != LayerKind::kPatchTokens) l.tokens_in = true;
  spec_.layers.push_back(l);
  group_ = l.out_group, h_ = l.out_h, w_ = l.out_w, sequence_ = outputs_sequence(l);
  return last();
}

int SpecBuilder::conv(int out_group, int kernel, int stride, int padding, bool bias) {
  LayerSpec l;
  l.kind = LayerKind::kConv2d;
  l.in_group = group_, l.out_group = out_group, l.in_h = h_, l.in_w = w_;
  l.out_h = (h_ + 2 * padding - kernel) / stride + 1;
  l.out_w = (w_ + 2 * padding - kernel) / stride + 1;
  l.kernel = kernel, l.stride = stride, l.padding = padding, l.bias = bias;
  return push(l);
}

namespace {
LayerSpec same_shape(LayerKind kind, int group, int h, int w) {
  LayerSpec l;
  l.kind = kind;
  l.in_group = l.out_group = group;
  l.in_h = l.out_h = h, l.in_w = l.out_w = w;
  return l;
}
}  // namespace

int SpecBuilder::batchnorm(bool running_stats) {
  LayerSpec l = same_shape(LayerKind::kBatchNorm2d, group_, h_, w_);
  l.running_stats = running_stats;
  return push(l);
}
int SpecBuilder::relu() { return push(same_shape(LayerKind::kReLU, group_, h_, w_)); }
int SpecBuilder::gelu() { return push(same_shape(LayerKind::kGELU, group_, h_, w_)); }
int SpecBuilder::layernorm() { return push(same_shape(LayerKind::kLayerNorm, group_, h_, w_)); }

int SpecBuilder::linear(int out_group, bool bias) {
  // On images a linear layer follows a flatten (input h·w planes); on tokens it maps the
  // last dimension and keeps the sequence.
  LayerSpec l;
  l.kind = LayerKind::kLinear;
  l.in_group = group_, l.out_group = out_group, l.bias = bias;
  l.in_h = h_, l.in_w = w_;
  if (spec_.token_input || sequence_) l.out_h = h_;
  else l.planes = h_ * w_;
  return push(l);
}

int SpecBuilder::maxpool(int kernel) {
  LayerSpec l = same_shape(LayerKind::kMaxPool2d, group_, h_, w_);
  l.out_h = h_ / kernel, l.out_w = w_ / kernel, l.kernel = kernel, l.stride = kernel;
  return push(l);
}

int SpecBuilder::global_avgpool() {
  LayerSpec l = same_shape(LayerKind::kGlobalAvgPool, group_, h_, w_);
  l.out_h = l.out_w = 1;
  return push(l);
}

int SpecBuilder::flatten() {
  // Keeps the channel group and the planes (h, w): the next linear reads channels x planes.
  return push(same_shape(LayerKind::kFlatten, group_, h_, w_));
}

int SpecBuilder::add(int a, int b) {
  const LayerSpec& la = spec_.layers.at(a);
  LayerSpec l = same_shape(LayerKind::kAdd, la.out_group, la.out_h, la.out_w);
  l.inputs = {a, b};
  from_ = -2;
  return push(l);
}

int SpecBuilder::embedding(int vocab, int out_group) {
  LayerSpec l;
  l.kind = LayerKind::kEmbedding;
  l.out_group = out_group, l.vocab = vocab, l.in_h = l.out_h = h_;
  return push(l);
}

int SpecBuilder::positional_embedding(int out_group) {
  LayerSpec l = same_shape(LayerKind::kPositionalEmbedding, out_group, h_, 1);
  l.vocab = h_;
  return push(l);
}

int SpecBuilder::tied_head(int embedding_layer) {
  LayerSpec l = same_shape(LayerKind::kTiedHead, group_, h_, 1);
  l.tied_to = embedding_layer;
  l.vocab = spec_.layers.at(embedding_layer).vocab;
  return push(l);
}

int SpecBuilder::self_attention(int heads_group, bool causal) {
  LayerSpec l = same_shape(LayerKind::kSelfAttention, group_, h_, 1);
  l.inner_group = heads_group;
  l.causal = causal;
  return push(l);
}

int SpecBuilder::patch_tokens() {
  if (spec_.token_input || sequence_) throw std::invalid_argument("patch_tokens: the input is already a sequence");
  LayerSpec l = same_shape(LayerKind::kPatchTokens, group_, h_, w_);
  l.out_h = h_ * w_, l.out_w = 1;
  return push(l);
}

int SpecBuilder::class_token() {
  if (!sequence_) throw std::invalid_argument("class_token: needs a token sequence (patch_tokens)");
  LayerSpec l = same_shape(LayerKind::kClassToken, group_, h_, 1);
  l.out_h = h_ + 1;
  return push(l);
}

int SpecBuilder::take_class_token() {
  if (!sequence_) throw std::invalid_argument("take_class_token: needs a token sequence");
  LayerSpec l = same_shape(LayerKind::kTakeClassToken, group_, h_, 1);
  l.out_h = 1;
  return push(l);
}

// --- Early-exit heads ---------------------------------------------------------------------

namespace {
// Whether an image model's features are already flat [batch, features] after `layer`.
bool flat_after(const ModelSpec& spec, int layer) {
  for (int i = 0; i <= layer; ++i) {
    const LayerKind k = spec.layers[i].kind;
    if (k == LayerKind::kFlatten || k == LayerKind::kLinear || k == LayerKind::kGlobalAvgPool) return true;
  }
  return false;
}
}  // namespace

void add_early_exits(ModelSpec& spec, const std::vector<int>& after_blocks) {
  if (spec.has_exits()) throw std::invalid_argument("model " + spec.name + " already has early-exit heads");
  const int blocks = static_cast<int>(spec.blocks.size());
  std::vector<char> wanted(blocks, after_blocks.empty() ? 1 : 0);
  if (blocks > 0) wanted[blocks - 1] = 0;
  for (std::size_t i = 0; i < after_blocks.size(); ++i) {
    const int k = after_blocks[i];
    if (k < 1 || k >= blocks || (i > 0 && k <= after_blocks[i - 1]))
      throw std::invalid_argument("early exits (model.exit_blocks) must be ascending blocks, each from 1 to " +
                                  std::to_string(blocks - 1) + " (model " + spec.name + " has " +
                                  std::to_string(blocks) + " blocks; the last one's classifier is the model's own): got " +
                                  std::to_string(k));
    wanted[k - 1] = 1;
  }
  const LayerSpec head = spec.layers.back();  // the model's own classifier
  if (head.kind != LayerKind::kLinear && head.kind != LayerKind::kTiedHead)
    throw std::invalid_argument("model " + spec.name + ": early exits need a linear or tied classifier at the end");
  spec.output_layer = static_cast<int>(spec.layers.size()) - 1;
  SpecBuilder b(spec);
  for (std::size_t k = 0; k + 1 < spec.blocks.size(); ++k) {
    if (!wanted[k]) continue;
    const int block_out = spec.blocks[k].end - 1, begin = b.last() + 1;
    b.from(block_out);
    if (head.kind == LayerKind::kTiedHead) {
      b.layernorm();
      b.tied_head(head.tied_to);
    } else if (b.sequence()) {  // a Vision Transformer's: as its own head, on the class token
      b.take_class_token();
      b.layernorm();
      b.linear(head.out_group);
    } else {
      if (!flat_after(spec, block_out)) b.global_avgpool();
      b.linear(head.out_group);
    }
    spec.blocks[k].exit_begin = begin;
    spec.blocks[k].exit_end = b.last() + 1;
  }
}

}  // namespace edgesim
