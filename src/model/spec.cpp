#include "edgesim/model/spec.hpp"

#include <cmath>
#include <stdexcept>

namespace edgesim {

std::int64_t LayerSpec::parameter_count() const {
  switch (kind) {
    case LayerKind::kConv2d: return std::int64_t(out_c) * in_c * kernel * kernel + out_c;
    case LayerKind::kLinear: return std::int64_t(out_c) * in_c + out_c;
    default: return 0;
  }
}

std::int64_t ModelSpec::parameter_count() const {
  std::int64_t n = 0;
  for (const auto& l : layers) n += l.parameter_count();
  return n;
}

namespace {

// Appends a layer whose input is the previous layer's output.
class SpecBuilder {
 public:
  SpecBuilder(ModelSpec& spec) : spec_(spec), c_(spec.in_c), h_(spec.in_h), w_(spec.in_w) {}

  void conv(int out_c, int kernel, int padding) {
    add(LayerKind::kConv2d, out_c, h_ + 2 * padding - kernel + 1, w_ + 2 * padding - kernel + 1, kernel, 1, padding);
  }
  void relu() { add(LayerKind::kReLU, c_, h_, w_, 0, 1, 0); }
  void maxpool(int k) { add(LayerKind::kMaxPool2d, c_, h_ / k, w_ / k, k, k, 0); }
  void flatten() { add(LayerKind::kFlatten, c_ * h_ * w_, 1, 1, 0, 1, 0); }
  void linear(int out) { add(LayerKind::kLinear, out, 1, 1, 0, 1, 0); }

 private:
  void add(LayerKind kind, int out_c, int out_h, int out_w, int kernel, int stride, int padding) {
    if (out_c < 1 || out_h < 1 || out_w < 1) throw std::invalid_argument("model input too small for its layers");
    LayerSpec l{kind, c_, h_, w_, out_c, out_h, out_w, kernel, stride, padding};
    spec_.layers.push_back(l);
    c_ = out_c, h_ = out_h, w_ = out_w;
  }
  ModelSpec& spec_;
  int c_, h_, w_;
};

int scaled(int base, double width) { return std::max(1, static_cast<int>(std::lround(base * width))); }

}  // namespace

ModelSpec make_cnn(int in_c, int in_hw, int num_classes, double width) {
  ModelSpec spec;
  spec.name = "cnn";
  spec.in_c = in_c, spec.in_h = in_hw, spec.in_w = in_hw;
  spec.num_classes = num_classes;
  SpecBuilder b(spec);
  b.conv(scaled(16, width), 5, 2);
  b.relu();
  b.maxpool(2);
  b.conv(scaled(32, width), 5, 2);
  b.relu();
  b.maxpool(2);
  b.flatten();
  b.linear(scaled(128, width));
  b.relu();
  b.linear(num_classes);
  return spec;
}

}  // namespace edgesim
