#pragma once
// Co-S²P (Li et al., arXiv 2410.08457), as the authors' public code applies it where it speaks
// (../shared/papers/NOTES.md §3; docs/ALGORITHMS.md labels every other choice):
//   - server-side depth pruning: device d of rate r_d (from its memory cap, `algorithm.rate_rule`)
//     trains the first ⌊r_d·B⌋ blocks — rounded down to a block with an exit head — with every
//     exit head among them (SubmodelSpec::exits); width inside them by `algorithm.co_s2p_width`
//     (below; or a static prefix of the rate, or all units);
//   - cross-block knowledge transfer: trainer `cross_block` (trainer/co_s2p_loss.hpp), the
//     distillation terms from round `algorithm.co_s2p_distill_from` on;
//   - data-aware width pruning (`co_s2p_width = "learned"`, the default): while round ≤ `co_s2p_mask_rounds`
//     (and on a device's first task if it has no masks yet) the device receives its prefix at
//     full width and learns which units to keep (trainer/unit_masks.hpp); the decisions come back
//     as its state and the policy keeps them (a few bytes per unit, per device), so its later
//     tasks get the physically smaller submodel of those units;
//   - [choice] a rolling window (`algorithm.co_s2p_window` = W > 0): a device's task in round t ends
//     at the t-th, cyclically, of the head-ending blocks within its depth, and only its last W blocks
//     train — the ones before are frozen (forward only), and their exits are left out;
//   - staleness-aware aggregation under the semi-asynchronous schedule (K = ⌈ρ·N⌉ reports):
//     Δ_i = local − received, zero outside its submodel; γ_i ∝ (‖Δ_i‖₁ / r_i) / (‖w − w_{τ_i}‖₁ + 1)
//     (parameters only), normalised; w ← w + Σ γ_i Δ_i.
// The global model predicts with its own classifier; each exit in use is also reported.
#include "edgesim/algo/fedavg.hpp"

namespace edgesim {

// The blocks a device of `rate` keeps: the deepest block with an exit head (or the last block)
// at most ⌊rate·B⌋, and at least the first such block.
int co_s2p_depth(const ModelSpec& model, double rate);

// The server step on the global model for updates in arrival order (each with its gather index,
// start model and rate); returns the weights γ_i it applied.
std::vector<double> co_s2p_aggregate(torch::Tensor& global, const std::vector<const TaskResult*>& updates,
                                     std::int64_t parameters);

class CoS2P : public FedAvg {
 public:
  explicit CoS2P(const Experiment& experiment);
  std::string default_schedule() const override { return "semi_async"; }
  std::vector<int> select(int round) override;  // every device
  void merge(torch::Tensor& global, const std::vector<const TaskResult*>& accepted) override;
  std::vector<double> eval_rates() const override;  // depth/B of every exit in use below the model's own
  SubmodelSpec eval_submodel(const ModelSpec& model, double rate) const override;  // that exit, full width
  int objective_terms() const override;  // every exit's cross-entropy (and distillation) plus the head's
  std::optional<RateAssignment> rate_assignment() const override;
  std::string save_state() const override;  // each device's learned keep decisions
  void load_state(const std::string& state) override;

  // The submodel a device of `rate` trains in `round` (0: its deepest, without a rolling window).
  SubmodelSpec device_submodel(double rate, int round = 0) const;
  // The depths a device of `rate` trains to: its prefix's, or with a rolling window every block
  // that ends with a head up to it, shallowest first.
  std::vector<int> window_depths(double rate) const;

 protected:
  std::optional<SubmodelSpec> submodel(int device, int round) override;
  void configure(int device, int round, TaskPlan& plan) override;

 private:
  bool learns_masks(int device, int round) const;
  // The trainer and its options: distillation, and the frozen blocks of the plan's submodel.
  void cross_block_options(int round, TaskPlan& plan) const;
  int frozen_blocks(int depth) const;
  std::vector<double> rates_;                    // per device
  std::vector<std::vector<std::uint8_t>> kept_;  // per device: learned keep decisions (empty: none yet)
};

}  // namespace edgesim
