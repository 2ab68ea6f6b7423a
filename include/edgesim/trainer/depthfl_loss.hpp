#pragma once
// DepthFL's local objective (Kim et al., ICLR 2023; rules checked against the Flower baseline's
// models.py / client.py), as functions of logits and flat parameters so tests can check them:
//   mutual self-distillation over a device's K classifiers z_1..z_K (one per block level):
//     Σ_i CE(z_i, y) + w · Σ_i Σ_{j≠i} T² · KL(softmax(z_j/T) ‖ softmax(z_i/T)) / (K − 1),
//     the teacher side z_j detached (no gradient flows into it), KL summed over classes and
//     averaged over the batch (per position for token models);
//   FedDyn's local correction (Acar et al., ICLR 2021) on the flat parameters θ, with θ₀ the
//     received model and h the device's state: −⟨θ, h⟩ + α/2 · ‖θ − θ₀‖², and after training
//     h ← h − α (θ − θ₀).
#include <torch/torch.h>

#include <vector>

namespace edgesim {

torch::Tensor mutual_distillation_loss(const std::vector<torch::Tensor>& logits, const torch::Tensor& targets,
                                       double weight, double temperature);

torch::Tensor feddyn_penalty(const torch::Tensor& theta, const torch::Tensor& received, const torch::Tensor& h,
                             double alpha);
torch::Tensor feddyn_next_state(const torch::Tensor& h, const torch::Tensor& theta, const torch::Tensor& received,
                                double alpha);

}  // namespace edgesim
