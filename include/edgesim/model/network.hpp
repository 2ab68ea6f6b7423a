#pragma once
// The trainable LibTorch module built from a ModelSpec (any model of the zoo, full or
// sliced), and its weights as one contiguous float32 buffer: the form in which models
// travel between ranks and get averaged. The module's parameters and buffers are
// registered in exactly the order of ModelSpec::parameters() and buffers().
#include <torch/torch.h>

#include "edgesim/model/spec.hpp"

namespace edgesim {

// Multi-head self-attention with separately sliceable heads (q, k, v, o projections); causal
// (a language model's) or not (a Vision Transformer's).
class SelfAttentionImpl : public torch::nn::Module {
 public:
  SelfAttentionImpl(int model_dim, int heads, int head_dim, bool causal = true);
  // [batch, seq, model_dim]; `head_gate` (defined: [heads]) multiplies each head's output
  // before the output projection.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& head_gate = {});

 private:
  int heads_, head_dim_;
  bool causal_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, o_{nullptr};
};
TORCH_MODULE(SelfAttention);

// A Vision Transformer's learned class token, put in front of the patch tokens.
class ClassTokenImpl : public torch::nn::Module {
 public:
  explicit ClassTokenImpl(int dim);
  torch::Tensor forward(const torch::Tensor& tokens);  // [batch, n, dim] -> [batch, n + 1, dim]
  torch::Tensor weight;
};
TORCH_MODULE(ClassToken);

class SpecNetImpl : public torch::nn::Module {
 public:
  explicit SpecNetImpl(const ModelSpec& spec);
  // Only layers [begin, end) of the spec, with their parameters and buffers (a pipeline stage,
  // model/stage.hpp). A tied head whose embedding lies outside the range gets its own copy of
  // that weight, registered as "<head>_tied_weight".
  SpecNetImpl(const ModelSpec& spec, int begin, int end);
  // Runs this module's layers (up to output()), reading earlier layers' outputs from `out`
  // (indexed by layer, at least output() + 1 long) and `x` (the model input; read only by
  // layer 0), and writing their own outputs into it.
  void forward_into(const torch::Tensor& x, std::vector<torch::Tensor>& out);
  // Images [batch, c, h, w] -> logits [batch, classes]; tokens [batch, seq] -> [batch, seq, vocab].
  // The model's own classifier; early-exit heads (model/spec.hpp) are not run.
  torch::Tensor forward(const torch::Tensor& x);
  // The logits of every early-exit head, in block order, then the model's own, from one pass
  // (what training every exit, or evaluating each, needs). Without exit heads: {forward(x)}.
  std::vector<torch::Tensor> forward_exits(const torch::Tensor& x);
  // The logits and a representation: what a contrastive loss compares (MOON). back = 1: the
  // classifier's input; back = k: the output of the layer k places before the classifier in the
  // spec's layer list. Flattened per sample; a language model's averaged over positions.
  std::pair<torch::Tensor, torch::Tensor> forward_with_features(const torch::Tensor& x, int back = 1);
  const ModelSpec& spec() const { return spec_; }
  // HeteroFL's scaler: in training, conv and hidden linear outputs are multiplied by `s`
  // (1 / rate, so a narrow submodel's activations match the full model's scale).
  void set_train_scale(double s) { train_scale_ = s; }
  // FjORD's ordered dropout: only the first `units[g]` units of each sliceable group are
  // active (the outputs of the others are zeroed, so they get no gradient, and a BatchNorm's
  // running statistics of the inactive channels stay as they are). Empty = all.
  void set_active_units(const std::vector<int>& units);
  // Gates per unit, for learning which units to keep (Co-S²P's masks): gates[g] (defined:
  // [units of group g], any values, differentiable) multiplies the output of every unit of group
  // g — a conv's or BatchNorm's channel, a linear layer's feature, an attention head. With 0/1
  // gates the network computes what the submodel keeping the 1-units computes. Empty = none.
  void set_unit_gates(std::vector<torch::Tensor> gates);
  // Every BatchNorm's running statistics reset to their initial values and from now on the
  // cumulative average over the batches seen in training mode (PyTorch's momentum = None).
  void track_cumulative_batchnorm_statistics();
  // Layers [0, n) stop requiring gradients: the optimizer leaves them as they are and LibTorch
  // keeps no activations for their backward pass (a frozen prefix).
  void freeze_layers(int n);
  // The scale factors γ of every BatchNorm layer (Network Slimming penalises them).
  std::vector<torch::Tensor> batchnorm_scales() const;

 private:
  struct Layer {
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    torch::nn::Linear linear{nullptr};
    torch::nn::Embedding embedding{nullptr};
    torch::nn::LayerNorm norm{nullptr};
    SelfAttention attention{nullptr};
    ClassToken class_token{nullptr};
  };
  // Outputs of layers [0, end); without autograd only those in `keep` are returned (the
  // others are released as soon as no later layer reads them).
  std::vector<torch::Tensor> run_layers(const torch::Tensor& x, int end, const std::vector<int>& keep);
  torch::Tensor batchnorm(torch::nn::BatchNorm2d& bn, const LayerSpec& l, const torch::Tensor& in);
  void run_range(const torch::Tensor& x, int begin, int end, std::vector<torch::Tensor>& out,
                 const std::vector<int>* keep);
  ModelSpec spec_;
  int begin_ = 0, end_ = 0;     // the layers this module holds
  torch::Tensor tied_weight_;   // a tied head's copy of an embedding outside [begin_, end_)
  std::vector<Layer> layers_;
  double train_scale_ = 1.0;
  std::vector<torch::Tensor> masks_;  // per group: 0/1 over its width, undefined = all active
  std::vector<torch::Tensor> gates_;  // per group: one gate per unit, undefined = none
};
TORCH_MODULE(SpecNet);

SpecNet build_network(const ModelSpec& spec);

// DepthFL's prediction: the mean of the logits of the classifiers after `blocks` (1-based,
// ascending; the last block's classifier is the model's own), from one forward_exits pass.
// Throws std::invalid_argument for a block without a classifier.
torch::Tensor exit_average(SpecNet& net, const torch::Tensor& x, const std::vector<int>& blocks);

// Parameters then buffers, each flattened, in registration order.
torch::Tensor flatten_weights(const torch::nn::Module& module);
void load_weights(torch::nn::Module& module, const torch::Tensor& flat);
// The parameters only, from the start of `flat` (parameters come first in every layout, so a
// model with BN running statistics and one without read each other's); buffers stay as they are.
void load_parameters(torch::nn::Module& module, const torch::Tensor& flat);

// A flat float32 buffer to and from plain floats (how checkpoints store models).
std::vector<float> to_floats(const torch::Tensor& flat);
torch::Tensor from_floats(const std::vector<float>& floats);

// Cross-entropy over classes, or over every position's next token for language models.
torch::Tensor classification_loss(const torch::Tensor& logits, const torch::Tensor& targets,
                                  torch::Reduction::Reduction reduction = torch::Reduction::Mean);

}  // namespace edgesim
