#pragma once
// Appends layers to a ModelSpec, tracking the running shape, so model definitions read like
// their papers' tables. Each method returns the new layer's index (for residual inputs).
#include <string>
#include <vector>

#include "edgesim/model/spec.hpp"

namespace edgesim {

class SpecBuilder {
 public:
  // Image input: `channels` x h x w.
  SpecBuilder(ModelSpec& spec, int channels, int h, int w);
  // Token input: sequence length; the first layer must be an embedding.
  SpecBuilder(ModelSpec& spec, int seq_len);
  // Continues a built spec after its last layer.
  explicit SpecBuilder(ModelSpec& spec);

  int group(const std::string& name, int units, int unit_width = 1, bool sliceable = true);

  int conv(int out_group, int kernel, int stride, int padding, bool bias = true);
  int batchnorm(bool running_stats = true);
  int linear(int out_group, bool bias = true);
  int relu();
  int gelu();
  int maxpool(int kernel);
  int global_avgpool();
  int flatten();
  int add(int a, int b);       // elementwise sum of two earlier layers' outputs (same shape)
  int embedding(int vocab, int out_group);
  int positional_embedding(int out_group);
  int layernorm();
  int self_attention(int heads_group, bool causal = true);  // model dim in and out
  int tied_head(int embedding_layer);   // logits over the vocabulary with the embedding's weight
  // Vision Transformer: image features to a token sequence, a class token in front, and the
  // class token alone (model/spec.hpp). On a sequence, linear and layernorm act per token.
  int patch_tokens();
  int class_token();
  int take_class_token();

  int last() const { return static_cast<int>(spec_.layers.size()) - 1; }
  bool sequence() const { return sequence_; }  // the running shape is an image model's token sequence
  // Continue from an earlier layer's output (e.g. a residual branch's start).
  void from(int layer);

  // A block (model/spec.hpp) is the layers added between begin_block() and end_block().
  void begin_block();
  void end_block();

 private:
  int push(LayerSpec l);
  ModelSpec& spec_;
  int group_, h_, w_;
  bool sequence_ = false;  // the running shape is an image model's token sequence
  int from_ = -2;         // -2: the previous layer
  int block_begin_ = -1;  // first layer of the open block, -1: none open
};

// Gives every block but the last (whose classifier is the model's own head) an early-exit
// head after the model's layers: global average pool + linear to the classes on images (no
// pool once features are flat), layernorm + linear on the class token on a Vision Transformer,
// layernorm + the tied head on language models. `after_blocks` (1-based, ascending, below the
// last block) names the blocks that get one instead; empty = every block but the last. Throws
// std::invalid_argument for a block out of range.
void add_early_exits(ModelSpec& spec, const std::vector<int>& after_blocks = {});

}  // namespace edgesim
