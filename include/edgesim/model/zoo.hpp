#pragma once
// The model zoo. Every model is a ModelSpec, so every model can be sliced. `width` scales
// every hidden unit group (HeteroFL's rate of the global model); the input, the classes and
// the vocabulary never shrink. Every model declares its blocks (model/spec.hpp) so it can be
// cut in depth; add_early_exits (model/spec_builder.hpp) gives them exit heads.
#include <string>
#include <vector>

#include "edgesim/model/spec.hpp"

namespace edgesim {

struct ModelConfig;

// conv5x5(16)-relu-pool2-conv5x5(32)-relu-pool2-fc(128)-relu-fc, 'same' padding; 28x28 or 32x32.
// Blocks: the two conv stages and the hidden linear layer.
ModelSpec make_cnn(int in_c, int in_hw, int num_classes, double width);

// VGG-11 / VGG-16 with BatchNorm (Simonyan & Zisserman 2015; CIFAR form: 3x3 convs, five
// 2x2 pools, one linear classifier on 512 features). depth is 11 or 16. Blocks: the five conv
// stages, each ending with its pool.
ModelSpec make_vgg(int depth, int in_c, int in_hw, int num_classes, double width, bool static_bn);

// ResNet-18, CIFAR form (He et al. 2016; as in HeteroFL/FedRolex): 3x3 stem, four stages of
// two basic blocks (64, 128, 256, 512 channels), global average pool, linear. Each stage's
// residual stream is one unit group shared by its blocks and shortcut. static_bn: HeteroFL's
// BN without running statistics; scaler: its 1/rate output scaling (applied by the trainer).
// Blocks: the eight residual blocks (the stem is always kept).
ModelSpec make_resnet18(int in_c, int in_hw, int num_classes, double width, bool static_bn);

// Decoder-only Transformer language model: token + learned positional embeddings, `layers`
// pre-LN blocks (causal self-attention with `heads` heads of d_model/heads, GELU FFN), final
// LN, logits through the token embedding (tied weights). Heads and FFN units are sliceable;
// d_model is not. Blocks: the Transformer layers.
struct TransformerShape {
  int vocab = 256, seq_len = 64, d_model = 128, heads = 4, ffn = 512, layers = 2;
  // false: a submodel keeps whole heads; true: it keeps every head and the same share of
  // each head's dimensions (HeteroFL's Transformer, whose width scales the embedding per head).
  bool slice_head_dims = false;
};
ModelSpec make_transformer_lm(const TransformerShape& shape, double width);
// Presets: "tiny" (2 layers, d 128), "small" (4 layers, d 256), "bert-base" (12 layers,
// d 768, 12 heads, FFN 3072, vocab 30522, seq 128: ~110 M parameters, Co-S²P's scale).
TransformerShape transformer_preset(const std::string& name, int vocab, int seq_len);
// The Transformer a config names: model.preset at model.seq_len, with model.layers, heads,
// d_model and ffn replacing the preset's where > 0; the vocabulary comes from the corpus.
TransformerShape transformer_shape(const ModelConfig& model, int vocab);

// Vision Transformer (Dosovitskiy et al. 2021), as Co-S²P trains it: patch embedding (a conv
// of kernel = stride = patch), a learned class token and positional embedding, `blocks` pre-LN
// encoder blocks (LN, non-causal self-attention with `heads` heads of dim/heads, residual; LN,
// MLP with GELU, residual), and the classifier LN + linear on the class token. Heads and MLP
// units are sliceable per block; the model dim (residual stream) is not. Blocks: the encoder
// blocks (patch embedding, class token and positions always kept).
struct VitShape {
  int patch = 4, dim = 64, heads = 4, mlp = 256, blocks = 6;
};
ModelSpec make_vit(const VitShape& shape, int in_c, int in_hw, int num_classes, double width);
// Presets: "vit-tiny" (laptop: patch 4, dim 64, 4 heads, MLP 256, 6 blocks), "vit-small" (ViT-S/16:
// 16, 384, 6, 1536, 12), "vit-b16" (ViT-B/16: 16, 768, 12, 3072, 12; ~86 M parameters at 224x224
// and 1000 classes, Co-S²P's vision model).
VitShape vit_preset(const std::string& name);
// The ViT a config names: model.preset, with model.patch, layers, heads, d_model and ffn
// replacing the preset's where > 0.
VitShape vit_shape(const ModelConfig& model);

// The blocks after which model.exit_blocks puts early exits ("3,6,9"; empty = every block but
// the last). Throws std::invalid_argument on a malformed list.
std::vector<int> parse_exit_blocks(const std::string& list);

// The image model a config names (model.name, width, static_bn, early_exits, exit_blocks) for the
// data's shape.
ModelSpec make_model(const ModelConfig& model, int in_c, int in_hw, int num_classes);

}  // namespace edgesim
