#include "edgesim/model/random_samples.hpp"

namespace edgesim {

RandomSamples random_samples(const ModelSpec& spec, std::int64_t n) {
  RandomSamples s;
  if (spec.token_input) {
    s.x = torch::randint(spec.num_classes, {n, spec.in_h}, torch::kInt64);
    s.y = torch::randint(spec.num_classes, {n, spec.in_h}, torch::kInt64);
  } else {
    s.x = torch::randn({n, spec.width(spec.input_group), spec.in_h, spec.in_w});
    s.y = torch::randint(spec.num_classes, {n}, torch::kInt64);
  }
  return s;
}

}  // namespace edgesim
