#include "edgesim/model/network.hpp"

#include <stdexcept>

namespace edgesim {

torch::nn::Sequential build_network(const ModelSpec& spec) {
  torch::nn::Sequential net;
  for (const auto& l : spec.layers) {
    switch (l.kind) {
      case LayerKind::kConv2d:
        net->push_back(torch::nn::Conv2d(
            torch::nn::Conv2dOptions(l.in_c, l.out_c, l.kernel).stride(l.stride).padding(l.padding)));
        break;
      case LayerKind::kLinear: net->push_back(torch::nn::Linear(l.in_c, l.out_c)); break;
      case LayerKind::kReLU: net->push_back(torch::nn::ReLU()); break;
      case LayerKind::kMaxPool2d:
        net->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(l.kernel).stride(l.stride)));
        break;
      case LayerKind::kFlatten: net->push_back(torch::nn::Flatten()); break;
    }
  }
  return net;
}

torch::Tensor flatten_weights(const torch::nn::Module& module) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : module.parameters()) parts.push_back(p.detach().reshape(-1));
  for (const auto& b : module.buffers()) parts.push_back(b.detach().reshape(-1).to(torch::kFloat32));
  return torch::cat(parts).contiguous();
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

}  // namespace edgesim
