#pragma once
// The trainable LibTorch module built from a ModelSpec, and its weights as one contiguous
// float32 buffer: the form in which models travel between ranks and get averaged.
#include <torch/torch.h>

#include "edgesim/model/spec.hpp"

namespace edgesim {

torch::nn::Sequential build_network(const ModelSpec& spec);

// Parameters then buffers, each flattened, in registration order.
torch::Tensor flatten_weights(const torch::nn::Module& module);
void load_weights(torch::nn::Module& module, const torch::Tensor& flat);

}  // namespace edgesim
