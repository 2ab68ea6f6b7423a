#pragma once
// Co-S²P's local objective and server weights (Li et al., arXiv 2410.08457; the rules as the
// authors' public code applies them — ../shared/papers/NOTES.md §3), as functions of logits and
// norms so tests can check them against independent computations.
//
// Cross-block knowledge transfer: a device's exits z_1..z_K (z_K its deepest) train with
//   CE(z_K, y) + Σ_{i<K} [ CE(z_i, y) + γ · T² · KL(softmax(z_K/T) ‖ softmax(z_i/T)) ],
// the deepest exit the teacher (detached: no gradient flows into it from the KL terms), KL
// summed over classes and averaged over the batch (per position for token models). With
// `distill` false (before the round the authors switch it on) only the CE terms remain.
//
// Staleness-aware aggregation: update i (delta Δ_i, received at version τ_i, rate r_i) weighs
//   γ_i ∝ (‖Δ_i‖₁ / r_i) / (‖w_now − w_{τ_i}‖₁ + 1),  normalised to sum 1,
// and the server steps w ← w + Σ γ_i Δ_i.
#include <torch/torch.h>

#include <vector>

namespace edgesim {

torch::Tensor cross_block_distillation_loss(const std::vector<torch::Tensor>& logits, const torch::Tensor& targets,
                                            double gamma, double temperature, bool distill);

// The normalised weights γ_i; every input has one entry per update, norms ≥ 0, rates > 0.
// Updates whose deltas are all zero weigh 0; if every one does, the weights are uniform.
std::vector<double> staleness_aware_weights(const std::vector<double>& delta_l1, const std::vector<double>& rates,
                                            const std::vector<double>& drift_l1);

}  // namespace edgesim
