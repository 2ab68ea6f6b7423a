#pragma once
// Co-S²P's data-aware width pruning (the authors' code, NOTES.md §3): with the weights frozen, a
// score s_u per unit of every sliceable group (attention head, MLP unit, channel) is trained on
// the device's own data for `epochs` passes, each step gating unit u by a Bernoulli(σ(s_u))
// sample with the straight-through gradient of σ(s_u), on the loss
//   CE(deepest classifier) + λ · mean over groups of |share of the group's sampled units − r|.
// Then keep decisions are sampled once more (at least one unit per group): the submodel.
// [choice] scores start at logit(r) (on target), are trained by Adam (`lr`), and the share term
// is per group so every layer keeps about r of its units.
#include <vector>

#include "edgesim/common/rng.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/runtime/local_training.hpp"

namespace edgesim {

struct UnitMaskOptions {
  double rate = 0.5;
  int epochs = 1;
  double lambda = 1.0;
  double lr = 0.05;
  int batch_size = 32;
};

// 0/1 keep decisions per group of `net`'s spec (undefined for groups that are not sliceable);
// the net's weights are unchanged, and its gates are cleared again.
std::vector<torch::Tensor> learn_unit_masks(SpecNet& net, const Examples& data, const UnitMaskOptions& options,
                                            Rng& rng);

}  // namespace edgesim
