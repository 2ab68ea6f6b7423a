// Helpers shared by the submodel tests (header-only):
//   sample_input     a random input batch for a model (images, or token ids);
//   random_submodel  a random subset of each sliceable group, in random order;
//   round_trip       one device that does not train: extract, load into a dense network of
//                    the submodel's architecture, add its weights back to a merge.
#pragma once

// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <cstdint>

#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/submodel.hpp"

namespace edgesim::test {

inline torch::Tensor sample_input(const ModelSpec& s, int batch) {
  if (s.token_input) return torch::randint(0, s.num_classes, {batch, s.in_h}, torch::kInt64);
  return torch::randn({batch, s.width(s.input_group), s.in_h, s.in_w});
}

inline SubmodelSpec random_submodel(const ModelSpec& s, double rate, std::uint64_t seed) {
  SubmodelSpec sub = prefix_submodel(s, rate);
  torch::manual_seed(seed);
  for (std::size_t g = 0; g < s.groups.size(); ++g) {
    if (!s.groups[g].sliceable) continue;
    const auto perm = torch::randperm(s.groups[g].units, torch::kInt64);
    for (std::size_t j = 0; j < sub.kept[g].size(); ++j) sub.kept[g][j] = perm[j].item<std::int64_t>();
  }
  return sub;
}

// Returns the network (in eval mode: a training-mode forward would update BN statistics).
inline SpecNet round_trip(const ModelSpec& s, const SubmodelSpec& sub, const torch::Tensor& global,
                          CoverageAverage& merge) {
  const auto gather = gather_tensor(gather_index(s, sub));
  const ModelSpec arch = submodel_architecture(s, sub);
  const torch::Tensor local = extract_submodel(global, gather);
  REQUIRE(local.numel() == arch.state_count());
  auto net = build_network(arch);
  load_weights(*net, local);
  merge.add(flatten_weights(*net), gather, 1.0);
  net->eval();
  return net;
}

}  // namespace edgesim::test
