// The Vision Transformer of the zoo (model/zoo.hpp): its size against the published ViT-B/16,
// its forward pass, width submodels (heads, MLP units) that are physical slices of the global
// weights, depth submodels with the exits among their blocks, and the cost model of one block
// against a count by hand.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include "edgesim/device/compute_work.hpp"
#include "edgesim/device/cost.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"

using namespace edgesim;

namespace {

// One named tensor of the flat weights of `s`, in its shape.
torch::Tensor tensor_of(const ModelSpec& s, const torch::Tensor& flat, const std::string& name) {
  std::int64_t offset = 0;
  for (const auto& list : {s.parameters(), s.buffers()}) {
    for (const auto& p : list) {
      std::int64_t size = 1;
      std::vector<std::int64_t> shape;
      for (const auto& d : p.dims) size *= s.extent(d), shape.push_back(s.extent(d));
      if (p.name == name) return flat.narrow(0, offset, size).view(shape);
      offset += size;
    }
  }
  FAIL("no tensor " << name);
  return {};
}

// The name of the k-th layer of kind `kind` (0-based) in layers [begin, end).
std::string nth_layer(const ModelSpec& s, LayerKind kind, int k, int begin = 0, int end = -1) {
  if (end < 0) end = static_cast<int>(s.layers.size());
  for (int i = begin; i < end; ++i)
    if (s.layers[i].kind == kind && k-- == 0) return s.layers[i].name;
  FAIL("no such layer");
  return "";
}

ModelSpec tiny_vit(const std::vector<int>& exits) {
  ModelSpec s = make_vit(vit_preset("vit-tiny"), 3, 32, 10, 1.0);
  add_early_exits(s, exits);
  return s;
}

}  // namespace

TEST_CASE("ViT-B/16 has the published ~86 M parameters, counted here from its formula", "[vit]") {
  const ModelSpec s = make_vit(vit_preset("vit-b16"), 3, 224, 1000, 1.0);
  const std::int64_t d = 768, mlp = 3072, blocks = 12, patch = 16, classes = 1000, tokens = (224 / 16) * (224 / 16) + 1;
  const std::int64_t embedding = 3 * patch * patch * d + d + d /* class token */ + tokens * d /* positions */;
  const std::int64_t block = 2 * 2 * d /* two layernorms */ + 4 * (d * d + d) /* q, k, v, o */ +
                             (d * mlp + mlp) + (mlp * d + d);
  const std::int64_t head = 2 * d + d * classes + classes;
  CHECK(s.parameter_count() == embedding + blocks * block + head);
  CHECK(s.parameter_count() == 86567656);  // timm's vit_base_patch16_224
  CHECK(s.blocks.size() == 12);
  // Co-S²P's exits after blocks 3, 6, 9 add three heads of layernorm + linear.
  ModelSpec with_exits = s;
  add_early_exits(with_exits, {3, 6, 9});
  CHECK(with_exits.parameter_count() == s.parameter_count() + 3 * head);
  CHECK(with_exits.parameters().size() == s.parameters().size() + 3 * 4);
}

TEST_CASE("the ViT classifies images; its attention is not causal; exits give one logits tensor each", "[vit]") {
  torch::manual_seed(3);
  const ModelSpec s = tiny_vit({2, 4});
  auto net = build_network(s);
  net->eval();
  torch::Tensor x = torch::randn({5, 3, 32, 32});
  const torch::Tensor logits = net->forward(x);
  CHECK(logits.sizes() == torch::IntArrayRef({5, 10}));
  CHECK(flatten_weights(*net).numel() == s.state_count());
  const auto exits = net->forward_exits(x);
  REQUIRE(exits.size() == 3);
  for (const auto& e : exits) CHECK(e.sizes() == torch::IntArrayRef({5, 10}));
  CHECK(torch::equal(exits.back(), logits));
  // The class token comes first: were attention causal it would never see a patch, and the
  // logits would not depend on the image. Changing only the last patch changes them.
  torch::Tensor y = x.clone();
  y.narrow(2, 28, 4).narrow(3, 28, 4).add_(1.0);
  CHECK_FALSE(torch::allclose(net->forward(y), logits));
  // It trains: a few steps on one batch lower its loss.
  net->train();
  torch::optim::SGD opt(net->parameters(), 0.05);
  const torch::Tensor labels = torch::randint(0, 10, {5}, torch::kInt64);
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    opt.zero_grad();
    auto loss = classification_loss(net->forward(x), labels);
    (step == 0 ? first : last) = loss.item<double>();
    loss.backward();
    opt.step();
  }
  CHECK(last < first);
}

TEST_CASE("a ViT width submodel (half the heads, half the MLP) is a physical slice of the global weights", "[vit]") {
  torch::manual_seed(5);
  const ModelSpec s = tiny_vit({});
  auto full = build_network(s);
  const torch::Tensor global = flatten_weights(*full);
  const SubmodelSpec sub = prefix_submodel(s, 0.5);
  const ModelSpec arch = submodel_architecture(s, sub);
  const torch::Tensor local = extract_submodel(global, gather_tensor(gather_index(s, sub)));
  REQUIRE(local.numel() == arch.state_count());
  // Dense and smaller: 2 of 4 heads (16 dims each) and 128 of 256 MLP units in every block.
  const std::int64_t d = 64, blocks = 6;
  const std::int64_t saved_per_block = 4 * 32 * d /* q, k, v rows and o columns */ + 3 * 32 /* q, k, v biases */ +
                                       2 * 128 * d + 128 /* MLP weights and the first bias */;
  CHECK(arch.parameter_count() == s.parameter_count() - blocks * saved_per_block);
  auto net = build_network(arch);
  load_weights(*net, local);
  net->eval();
  CHECK(net->forward(torch::randn({2, 3, 32, 32})).sizes() == torch::IntArrayRef({2, 10}));
  // Block 2's attention and MLP: the submodel's tensors are the global ones' leading rows/columns.
  const BlockSpec& b = s.blocks[1];
  const std::string attn = nth_layer(s, LayerKind::kSelfAttention, 0, b.begin, b.end);
  const std::string fc1 = nth_layer(s, LayerKind::kLinear, 0, b.begin, b.end), fc2 = nth_layer(s, LayerKind::kLinear, 1, b.begin, b.end);
  for (const char* m : {".q.weight", ".k.weight", ".v.weight"})
    CHECK(torch::equal(tensor_of(arch, local, attn + m), tensor_of(s, global, attn + m).narrow(0, 0, 32)));
  CHECK(torch::equal(tensor_of(arch, local, attn + ".q.bias"), tensor_of(s, global, attn + ".q.bias").narrow(0, 0, 32)));
  CHECK(torch::equal(tensor_of(arch, local, attn + ".o.weight"), tensor_of(s, global, attn + ".o.weight").narrow(1, 0, 32)));
  CHECK(torch::equal(tensor_of(arch, local, attn + ".o.bias"), tensor_of(s, global, attn + ".o.bias")));
  CHECK(torch::equal(tensor_of(arch, local, fc1 + ".weight"), tensor_of(s, global, fc1 + ".weight").narrow(0, 0, 128)));
  CHECK(torch::equal(tensor_of(arch, local, fc2 + ".weight"), tensor_of(s, global, fc2 + ".weight").narrow(1, 0, 128)));
  // What the network holds is what it was given (the module's own names, in the same order).
  const auto named = net->named_parameters();
  CHECK(torch::equal(named[attn + ".q.weight"], tensor_of(arch, local, attn + ".q.weight")));
  // A rolling (FedRolex) window keeps other heads: head (j - t) mod 4 at position j.
  const SubmodelSpec rolled = rolling_submodel(s, 0.5, 1);
  const ModelSpec rolled_arch = submodel_architecture(s, rolled);
  const torch::Tensor r = extract_submodel(global, gather_tensor(gather_index(s, rolled)));
  const torch::Tensor q = tensor_of(s, global, attn + ".q.weight");
  CHECK(torch::equal(tensor_of(rolled_arch, r, attn + ".q.weight"),
                     torch::cat({q.narrow(0, 3 * 16, 16), q.narrow(0, 0, 16)})));
}

TEST_CASE("a ViT depth submodel keeps the first k blocks and the exits among them", "[vit][depth]") {
  torch::manual_seed(9);
  const ModelSpec s = tiny_vit({2, 4});  // exits after blocks 2 and 4, the model's own head after 6
  auto full = build_network(s);
  full->eval();
  const torch::Tensor global = flatten_weights(*full);
  const torch::Tensor x = torch::randn({3, 3, 32, 32});
  const auto exits = full->forward_exits(x);
  SubmodelSpec sub = full_submodel(s);
  sub.depth = 4;
  sub.exits = {2};
  const ModelSpec arch = submodel_architecture(s, sub);
  CHECK(arch.blocks.size() == 4);
  auto net = build_network(arch);
  load_weights(*net, extract_submodel(global, gather_tensor(gather_index(s, sub))));
  net->eval();
  const auto local = net->forward_exits(x);
  REQUIRE(local.size() == 2);
  CHECK(torch::allclose(local[0], exits[0], 1e-5, 1e-6));  // block 2's exit
  CHECK(torch::allclose(local[1], exits[1], 1e-5, 1e-6));  // block 4's exit, now the classifier
  // Half the blocks and their exits: fewer parameters, FLOPs and activations than the whole.
  CHECK(arch.parameter_count() < s.parameter_count());
  TrainingShape all;
  all.all_exits = true;
  CHECK(training_flops_per_sample(arch, all) < training_flops_per_sample(s, all));
  CHECK(training_memory(arch, 8, true, all).total() < training_memory(s, 8, true, all).total());
  // A cut at a block without an exit has no classifier.
  sub.depth = 3;
  sub.exits = {};
  CHECK_THROWS_AS(submodel_architecture(s, sub), std::invalid_argument);
  // Exits must be below the last block, ascending.
  ModelSpec bad = make_vit(vit_preset("vit-tiny"), 3, 32, 10, 1.0);
  CHECK_THROWS_AS(add_early_exits(bad, {6}), std::invalid_argument);
  CHECK_THROWS_AS(add_early_exits(bad, {4, 2}), std::invalid_argument);
  CHECK(parse_exit_blocks("3,6, 9") == std::vector<int>{3, 6, 9});
  CHECK_THROWS_AS(parse_exit_blocks("3,x"), std::invalid_argument);
}

TEST_CASE("the FLOPs of one ViT block match a count by hand", "[vit][cost]") {
  const ModelSpec s = make_vit(vit_preset("vit-tiny"), 3, 32, 10, 1.0);
  // 64 patches of 4x4 + the class token; d 64, 4 heads of 16, MLP 256.
  const double t = 65, d = 64, mlp = 256;
  const double qkvo = 4 * (t * d * d * 2 + t * d);        // four d x d projections with bias, per token
  const double attention = 2 * t * t * d + 2 * t * t * d;  // q·kᵀ over all heads, then the weighted sum of v
  const double ffn = (t * d * mlp * 2 + t * mlp) + (t * mlp * d * 2 + t * d);
  double block = 0;
  for (int i = s.blocks[0].begin; i < s.blocks[0].end; ++i) block += layer_forward_flops(s, s.layers[i]);
  CHECK(block == Approx(qkvo + attention + ffn).epsilon(1e-12));
  // The patch embedding: a 4x4 conv of 3 channels to 64, at 8x8 positions.
  CHECK(layer_forward_flops(s, s.layers[0]) == Approx((2.0 * 16 * 3 + 1) * 64 * 64));
  // The whole model: embedding + 6 blocks + the head (linear on the class token only).
  CHECK(forward_flops(s) == Approx(layer_forward_flops(s, s.layers[0]) + 6 * block + (2.0 * 64 + 1) * 10));
  // Priced by the clock's work model too: the token reshapes are views, the class token one op.
  const ComputeWork w = training_step_work(s, TrainingShape{}, 4);
  CHECK(w.forward[int(OpClass::kMatmul)].flops == Approx(4 * (6 * block + (2.0 * 64 + 1) * 10)));
  CHECK(w.forward[int(OpClass::kConv)].flops == Approx(4 * layer_forward_flops(s, s.layers[0])));
}

TEST_CASE("the config names a ViT: presets, patch, depth and exit blocks", "[vit][config]") {
  ModelConfig m;
  m.name = "vit";
  m.preset = "vit-tiny";
  m.patch = 8;
  m.layers = 4;
  m.early_exits = true;
  m.exit_blocks = "1,3";
  const ModelSpec s = make_model(m, 3, 32, 10);
  CHECK(s.name == "vit");
  CHECK(s.blocks.size() == 4);
  CHECK(s.layers[0].kernel == 8);
  CHECK(s.layers[0].stride == 8);
  CHECK(s.blocks[0].has_exit());
  CHECK_FALSE(s.blocks[1].has_exit());
  CHECK(s.blocks[2].has_exit());
  m.patch = 5;  // does not divide 32
  CHECK_THROWS_AS(make_model(m, 3, 32, 10), std::invalid_argument);
  // The language model gets exits after chosen blocks the same way.
  TransformerShape t = transformer_preset("small", 50, 16);
  ModelSpec lm = make_transformer_lm(t, 1.0);
  add_early_exits(lm, {2});
  CHECK(lm.blocks[1].has_exit());
  CHECK_FALSE(lm.blocks[0].has_exit());
  CHECK_FALSE(lm.blocks[2].has_exit());
}

TEST_CASE("0/1 unit gates compute what the submodel keeping the 1-units computes; gates get gradients",
          "[vit][gates]") {
  // Co-S²P learns which heads and MLP units a device keeps by gating them; the submodel it then
  // builds must be the network the gates described.
  torch::manual_seed(11);
  const ModelSpec s = tiny_vit({});
  auto full = build_network(s);
  full->eval();
  const torch::Tensor global = flatten_weights(*full);
  SubmodelSpec sub = full_submodel(s);
  std::vector<torch::Tensor> gates(s.groups.size());
  for (std::size_t g = 0; g < s.groups.size(); ++g) {
    if (!s.groups[g].sliceable) continue;
    const int units = s.groups[g].units;
    std::vector<std::int64_t> kept;
    for (int u = 0; u < units; ++u)
      if ((u * 7 + int(g)) % 3 != 0) kept.push_back(u);  // an arbitrary subset, not a prefix
    auto gate = torch::zeros({units});
    for (auto u : kept) gate[u] = 1.0f;
    gates[g] = gate;
    sub.kept[g] = kept;
  }
  const torch::Tensor x = torch::randn({3, 3, 32, 32});
  const ModelSpec arch = submodel_architecture(s, sub);
  auto small = build_network(arch);
  load_weights(*small, extract_submodel(global, gather_tensor(gather_index(s, sub))));
  small->eval();
  const torch::Tensor expect = small->forward(x);
  full->set_unit_gates(gates);
  CHECK(torch::allclose(full->forward(x), expect, 1e-5, 1e-5));
  // Soft gates are differentiable: every sliceable group's gate gets a gradient.
  for (auto& g : gates)
    if (g.defined()) g = torch::full_like(g, 0.7).requires_grad_(true);
  full->set_unit_gates(gates);
  full->forward(x).sum().backward();
  for (const auto& g : gates)
    if (g.defined()) CHECK(g.grad().abs().sum().item<double>() > 0);
  CHECK_THROWS_WITH(full->set_unit_gates({torch::ones({1000})}), Catch::Contains("units, not 1000"));
}
