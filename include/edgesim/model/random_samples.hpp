#pragma once
// Random samples of a model's input and label shapes: what timing and memory measurements train
// on when the values do not matter (device/benchmark.hpp, the memory meter's tests). Images:
// x [n, c, h, w] ~ N(0, 1), y [n] class ids; token models: x and y [n, seq] token ids. Drawn
// from LibTorch's global generator, x before y.
#include <torch/torch.h>

#include <cstdint>

#include "edgesim/model/spec.hpp"

namespace edgesim {

struct RandomSamples {
  torch::Tensor x, y;
};
RandomSamples random_samples(const ModelSpec& spec, std::int64_t n);

}  // namespace edgesim
