#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "edgesim/io/config.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"

namespace edgesim {
namespace {
int scaled(int base, double width) { return std::max(1, static_cast<int>(std::ceil(base * width - 1e-9))); }
}  // namespace

ModelSpec make_cnn(int in_c, int in_hw, int num_classes, double width) {
  ModelSpec spec;
  spec.name = "cnn";
  spec.num_classes = num_classes;
  SpecBuilder b(spec, in_c, in_hw, in_hw);
  const int c1 = b.group("conv1", scaled(16, width)), c2 = b.group("conv2", scaled(32, width));
  const int fc = b.group("fc1", scaled(128, width)), out = b.group("classes", num_classes, 1, false);
  // Blocks: the two conv stages and the hidden linear layer, each feeding what follows it the
  // way a stage of a deeper network does.
  for (int c : {c1, c2}) {
    b.begin_block();
    b.conv(c, 5, 1, 2);
    b.relu();
    b.maxpool(2);
    b.end_block();
  }
  b.begin_block();
  b.flatten();
  b.linear(fc);
  b.relu();
  b.end_block();
  b.linear(out);
  return spec;
}

ModelSpec make_vgg(int depth, int in_c, int in_hw, int num_classes, double width, bool static_bn) {
  // Channels per conv, 0 = 2x2 max pool.
  std::vector<int> plan;
  if (depth == 11) plan = {64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0};
  else if (depth == 16) plan = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
  else throw std::invalid_argument("VGG depth must be 11 or 16");
  ModelSpec spec;
  spec.name = "vgg" + std::to_string(depth);
  spec.num_classes = num_classes;
  SpecBuilder b(spec, in_c, in_hw, in_hw);
  int i = 0;
  bool in_stage = false;  // blocks: the conv stages, each closed by its pool
  for (int c : plan) {
    if (!in_stage) b.begin_block();
    in_stage = true;
    if (c == 0) {
      b.maxpool(2);
      b.end_block();
      in_stage = false;
      continue;
    }
    b.conv(b.group("conv" + std::to_string(++i), scaled(c, width)), 3, 1, 1, false);
    b.batchnorm(!static_bn);
    b.relu();
  }
  b.flatten();
  b.linear(b.group("classes", num_classes, 1, false));
  return spec;
}

ModelSpec make_resnet18(int in_c, int in_hw, int num_classes, double width, bool static_bn) {
  ModelSpec spec;
  spec.name = "resnet18";
  spec.num_classes = num_classes;
  SpecBuilder b(spec, in_c, in_hw, in_hw);
  const int channels[4] = {64, 128, 256, 512};
  int stream = b.group("stage1", scaled(64, width));
  b.conv(stream, 3, 1, 1, false);
  b.batchnorm(!static_bn);
  int x = b.relu();
  for (int s = 0; s < 4; ++s) {
    for (int blk = 0; blk < 2; ++blk) {
      const int stride = (s > 0 && blk == 0) ? 2 : 1;
      const std::string name = "stage" + std::to_string(s + 1) + ".block" + std::to_string(blk + 1);
      const int out_stream = (s > 0 && blk == 0) ? b.group("stage" + std::to_string(s + 1), scaled(channels[s], width))
                                                 : stream;
      const int mid = b.group(name + ".mid", scaled(channels[s], width));
      b.begin_block();  // blocks: the residual blocks, shortcut and final ReLU included
      b.from(x);
      b.conv(mid, 3, stride, 1, false);
      b.batchnorm(!static_bn);
      b.relu();
      b.conv(out_stream, 3, 1, 1, false);
      const int main = b.batchnorm(!static_bn);
      int shortcut = x;
      if (out_stream != stream) {  // downsampling block: 1x1 conv + BN on the shortcut
        b.from(x);
        b.conv(out_stream, 1, stride, 0, false);
        shortcut = b.batchnorm(!static_bn);
      }
      b.add(main, shortcut);
      x = b.relu();
      b.end_block();
      stream = out_stream;
    }
  }
  b.global_avgpool();
  b.linear(b.group("classes", num_classes, 1, false));
  return spec;
}

ModelSpec make_transformer_lm(const TransformerShape& t, double width) {
  if (t.d_model % t.heads != 0) throw std::invalid_argument("d_model must be a multiple of heads");
  ModelSpec spec;
  spec.name = "transformer";
  spec.num_classes = t.vocab;
  SpecBuilder b(spec, t.seq_len);
  const int model = b.group("model", t.d_model, 1, false);
  const int tok = b.embedding(t.vocab, model);
  const int pos = b.positional_embedding(model);
  int x = b.add(tok, pos);
  for (int i = 0; i < t.layers; ++i) {
    const std::string name = "layer" + std::to_string(i + 1);
    int heads;
    if (t.slice_head_dims) {
      const int dims = b.group(name + ".head_dims", scaled(t.d_model / t.heads, width));
      heads = b.group(name + ".heads", t.heads, 1, false);
      spec.groups[heads].inner = dims;
    } else {
      heads = b.group(name + ".heads", scaled(t.heads, width), t.d_model / t.heads);
    }
    const int ffn = b.group(name + ".ffn", scaled(t.ffn, width));
    b.begin_block();  // blocks: the Transformer layers
    b.from(x);
    b.layernorm();
    const int attn = b.self_attention(heads);
    x = b.add(x, attn);
    b.from(x);
    b.layernorm();
    b.linear(ffn);
    b.gelu();
    const int mlp = b.linear(model);
    x = b.add(x, mlp);
    b.end_block();
  }
  b.from(x);
  b.layernorm();
  b.tied_head(tok);  // GPT-2 style weight tying: BERT-base's ~110 M parameters include no separate head
  return spec;
}

ModelSpec make_vit(const VitShape& v, int in_c, int in_hw, int num_classes, double width) {
  if (v.dim % v.heads != 0)
    throw std::invalid_argument("ViT: model.heads (" + std::to_string(v.heads) + ") must divide model.d_model (" +
                                std::to_string(v.dim) + ")");
  if (v.patch < 1 || in_hw % v.patch != 0)
    throw std::invalid_argument("ViT: model.patch (" + std::to_string(v.patch) + ") must divide the image size " +
                                std::to_string(in_hw));
  ModelSpec spec;
  spec.name = "vit";
  spec.num_classes = num_classes;
  SpecBuilder b(spec, in_c, in_hw, in_hw);
  const int model = b.group("model", v.dim, 1, false);
  b.conv(model, v.patch, v.patch, 0);
  b.patch_tokens();
  const int tokens = b.class_token();
  const int pos = b.positional_embedding(model);
  int x = b.add(tokens, pos);
  for (int i = 0; i < v.blocks; ++i) {
    const std::string name = "block" + std::to_string(i + 1);
    const int heads = b.group(name + ".heads", scaled(v.heads, width), v.dim / v.heads);
    const int mlp = b.group(name + ".mlp", scaled(v.mlp, width));
    b.begin_block();
    b.from(x);
    b.layernorm();
    const int attn = b.self_attention(heads, false);
    x = b.add(x, attn);
    b.from(x);
    b.layernorm();
    b.linear(mlp);
    b.gelu();
    const int out = b.linear(model);
    x = b.add(x, out);
    b.end_block();
  }
  b.from(x);
  b.take_class_token();
  b.layernorm();
  b.linear(b.group("classes", num_classes, 1, false));
  return spec;
}

VitShape vit_preset(const std::string& name) {
  VitShape v;
  if (name == "vit-tiny") v = {4, 64, 4, 256, 6};
  else if (name == "vit-small") v = {16, 384, 6, 1536, 12};
  else if (name == "vit-b16") v = {16, 768, 12, 3072, 12};
  else throw std::invalid_argument("unknown ViT preset '" + name + "' (vit-tiny, vit-small, vit-b16)");
  return v;
}

VitShape vit_shape(const ModelConfig& m) {
  VitShape v = vit_preset(m.preset);
  if (m.patch > 0) v.patch = m.patch;
  if (m.layers > 0) v.blocks = m.layers;
  if (m.heads > 0) v.heads = m.heads;
  if (m.d_model > 0) v.dim = m.d_model;
  if (m.ffn > 0) v.mlp = m.ffn;
  return v;
}

std::vector<int> parse_exit_blocks(const std::string& list) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at < list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string item = list.substr(at, comma - at);
    std::size_t used = 0;
    int k = 0;
    try {
      k = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    while (used < item.size() && item[used] == ' ') ++used;
    if (item.empty() || used != item.size()) throw std::invalid_argument("'" + item + "' is not a block number");
    out.push_back(k);
    at = comma + 1;
  }
  return out;
}

namespace {
ModelSpec make_named_model(const ModelConfig& m, int in_c, int in_hw, int num_classes) {
  if (m.name == "cnn") return make_cnn(in_c, in_hw, num_classes, m.width);
  if (m.name == "vgg11") return make_vgg(11, in_c, in_hw, num_classes, m.width, m.static_bn);
  if (m.name == "vgg16") return make_vgg(16, in_c, in_hw, num_classes, m.width, m.static_bn);
  if (m.name == "resnet18") return make_resnet18(in_c, in_hw, num_classes, m.width, m.static_bn);
  if (m.name == "vit") return make_vit(vit_shape(m), in_c, in_hw, num_classes, m.width);
  throw std::invalid_argument("unknown model '" + m.name + "'");
}
}  // namespace

ModelSpec make_model(const ModelConfig& m, int in_c, int in_hw, int num_classes) {
  ModelSpec spec = make_named_model(m, in_c, in_hw, num_classes);
  if (m.early_exits) add_early_exits(spec, parse_exit_blocks(m.exit_blocks));
  return spec;
}

TransformerShape transformer_preset(const std::string& name, int vocab, int seq_len) {
  TransformerShape t;
  t.vocab = vocab, t.seq_len = seq_len;
  if (name == "tiny") t.d_model = 128, t.heads = 4, t.ffn = 512, t.layers = 2;
  else if (name == "small") t.d_model = 256, t.heads = 4, t.ffn = 1024, t.layers = 4;
  else if (name == "bert-base") t.d_model = 768, t.heads = 12, t.ffn = 3072, t.layers = 12;
  else throw std::invalid_argument("unknown transformer preset '" + name + "' (tiny, small, bert-base)");
  return t;
}

TransformerShape transformer_shape(const ModelConfig& m, int vocab) {
  TransformerShape t = transformer_preset(m.preset, vocab, m.seq_len);
  if (m.layers > 0) t.layers = m.layers;
  if (m.heads > 0) t.heads = m.heads;
  if (m.d_model > 0) t.d_model = m.d_model;
  if (m.ffn > 0) t.ffn = m.ffn;
  t.slice_head_dims = m.attention_slicing == "head_dims";
  return t;
}

}  // namespace edgesim
