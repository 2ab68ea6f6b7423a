#pragma once
// MOON (Li et al., CVPR 2021): FedAvg whose devices train with the model-contrastive term
// (the `contrastive` trainer: the local representation pulled toward the received global
// model's and pushed from the device's previous local model's, per-device state). Weight μ and
// temperature τ are `algorithm.moon_mu` / `moon_tau`. A baseline for MSfusion's contrastive loss.
#include "edgesim/algo/fedavg.hpp"

namespace edgesim {

class Moon : public FedAvg {
 public:
  using FedAvg::FedAvg;

 protected:
  void configure(int device, int round, TaskPlan& plan) override;
};

}  // namespace edgesim
