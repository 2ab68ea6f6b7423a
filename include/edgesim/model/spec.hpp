#pragma once
// A model described as data: unit groups and a list of layers. The LibTorch module is built
// from it (model/network.hpp), the cost model (device/cost.hpp) counts FLOPs, parameters and
// activations from it, and the submodel engine (model/submodel.hpp) slices it — so cost,
// slicing and the trained model can never disagree.
//
// A *unit group* is a set of interchangeable units that several tensors index together:
// the output channels of a conv (its weight rows, its bias, the next BN, the next conv's
// input columns), the residual channels of a ResNet stage, the heads of an attention layer.
// Keeping a subset of a group's units slices every tensor that the group indexes, which is
// how a device gets a dense, smaller model. Groups that must not shrink (image channels,
// classes, vocabulary) are not sliceable.
//
// A *block* is a contiguous range of layers that can be dropped as a whole, with every block
// after it: a ResNet residual block, a VGG conv stage, a Transformer layer. A block may have an
// *early-exit head*, a small classifier on its output (images: global average pool + linear;
// a Vision Transformer: layernorm + linear on the class token; language models: layernorm +
// the tied head). Exit heads are real parameters of the model,
// stored after the model's own layers: the model's forward pass ends at `output()` and never
// runs them; a submodel cut after a block ends with that block's exit head instead.
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim {

struct UnitGroup {
  std::string name;
  int units = 0;         // units in this (possibly sliced) model
  int unit_width = 1;    // tensor entries per unit (an attention head spans head_dim entries)
  bool sliceable = true;
  // Attention sliced per head dimension (HeteroFL's Transformer): every unit of this group
  // (a head) spans the units of `inner` (its dimensions), which are kept alike in every head.
  int inner = -1;
};

enum class LayerKind {
  kConv2d, kBatchNorm2d, kLinear, kReLU, kGELU, kMaxPool2d, kGlobalAvgPool, kFlatten, kAdd,
  kEmbedding, kPositionalEmbedding, kLayerNorm, kSelfAttention, kTiedHead,
  // Vision Transformer: image features [batch, c, h, w] as a sequence of h·w tokens [batch, h·w, c]
  // (a view); a learned class token put in front of the sequence; the class token taken out
  // ([batch, tokens, d] -> [batch, d], a view).
  kPatchTokens, kClassToken, kTakeClassToken,
};

struct LayerSpec {
  LayerKind kind = LayerKind::kReLU;
  std::string name;
  int in_group = -1, out_group = -1;  // features in and out (channels, hidden units, model dim)
  int inner_group = -1;               // attention heads
  // Per-sample spatial size (images) or sequence length (tokens: in_h = out_h = seq_len).
  int in_h = 1, in_w = 1, out_h = 1, out_w = 1;
  int kernel = 0, stride = 1, padding = 0;
  int planes = 1;             // kLinear after a flatten: input planes (h·w) per channel
  bool bias = true;
  bool running_stats = true;  // BatchNorm: false = HeteroFL's static BN (batch statistics only)
  int vocab = 0;              // embeddings: vocabulary (or positions) size
  int tied_to = -1;           // kTiedHead: the embedding whose weight it reuses (logits = x Eᵀ)
  // An image model's layer that reads a token sequence [batch, in_h tokens, features] (a ViT's
  // encoder): a linear layer then maps each token, as on a language model's tokens.
  bool tokens_in = false;
  bool causal = true;         // kSelfAttention: each position attends to earlier ones only (LM)
  std::vector<int> inputs;    // producing layer indices; empty = the previous layer (or the input)
};

// One dimension of a parameter tensor: its extent, or the unit group that indexes it.
struct ParamDim {
  int group = -1;      // -1: a fixed extent
  std::int64_t extent = 0;
};
struct ParamSpec {
  std::string name;             // "<layer>.weight", ...
  std::vector<ParamDim> dims;   // row-major; the torch tensor is this shape, possibly viewed
  int layer = -1;               // the layer that owns it
};

struct BlockSpec {
  int begin = 0, end = 0;              // layers [begin, end); the block's output is layer end - 1
  int exit_begin = -1, exit_end = -1;  // its early-exit head's layers, or -1: none
  bool has_exit() const { return exit_begin >= 0; }
};

struct ModelSpec {
  std::string name;
  std::vector<UnitGroup> groups;
  std::vector<LayerSpec> layers;
  int input_group = 0;           // group of the input's channels (images) — not sliceable
  int in_h = 28, in_w = 28;      // images; tokens: in_h = seq_len, in_w = 1
  int num_classes = 10;          // classes, or vocabulary for language models
  bool token_input = false;      // input is [batch, seq] token ids
  std::vector<BlockSpec> blocks;  // in order; empty = the model cannot be cut in depth
  int output_layer = -1;          // the layer whose output is the model's; -1 = the last layer

  // The model's own forward pass is layers [0, output()]; exit heads come after it.
  int output() const { return output_layer >= 0 ? output_layer : static_cast<int>(layers.size()) - 1; }
  bool has_exits() const { return output() + 1 < static_cast<int>(layers.size()); }
  int classifiers() const;  // the model's own head plus one per exit head

  // Tensor entries per unit of `group`, and in the whole group.
  int unit_width(int group) const {
    const UnitGroup& g = groups.at(group);
    return g.inner >= 0 ? groups.at(g.inner).units : g.unit_width;
  }
  int width(int group) const { return groups.at(group).units * unit_width(group); }
  std::int64_t extent(const ParamDim& d) const { return d.group < 0 ? d.extent : width(d.group); }
  // Trainable parameters, then buffers (BN running statistics), in the order the LibTorch
  // module registers them: the layout of the flat weight buffer.
  std::vector<ParamSpec> parameters() const;
  std::vector<ParamSpec> buffers() const;
  std::int64_t parameter_count() const;  // trainable parameters
  std::int64_t state_count() const;      // parameters + buffers: floats on the wire
};

// The model's tensors (parameters, then buffers), one "name d0xd1x..." line each: what must
// match for one model's flat weights to load into another (model.init_from).
std::string model_tensor_shapes(const ModelSpec& spec);

}  // namespace edgesim
