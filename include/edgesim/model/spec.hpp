#pragma once
// A model described as data: a list of layers with their shapes. The torch module is built
// from it (model/network.hpp), and the cost model (device/cost.hpp) counts FLOPs, parameters
// and activations from the same list, so cost and the trained model can never disagree.
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim {

enum class LayerKind { kConv2d, kLinear, kReLU, kMaxPool2d, kFlatten };

struct LayerSpec {
  LayerKind kind;
  // Shapes of one sample: input and output (channels, height, width); linear layers and
  // flatten use channels as the feature count with height = width = 1.
  int in_c = 0, in_h = 1, in_w = 1;
  int out_c = 0, out_h = 1, out_w = 1;
  int kernel = 0, stride = 1, padding = 0;  // conv and pool

  std::int64_t parameter_count() const;  // weights + bias
  std::int64_t output_elements() const { return std::int64_t(out_c) * out_h * out_w; }
  std::int64_t input_elements() const { return std::int64_t(in_c) * in_h * in_w; }
};

struct ModelSpec {
  std::string name;
  int in_c = 1, in_h = 28, in_w = 28;
  int num_classes = 10;
  std::vector<LayerSpec> layers;

  std::int64_t parameter_count() const;
};

// The small CNN of the quickstart: conv5x5(16w) - relu - pool2 - conv5x5(32w) - relu - pool2 -
// linear(128w) - relu - linear(classes), 'same' padding. width scales every hidden layer.
ModelSpec make_cnn(int in_c, int in_hw, int num_classes, double width);

}  // namespace edgesim
