#pragma once
// A local trainer: the executor-side half of an algorithm. A task names one (TaskOrder::trainer)
// with its options; the trainer owns the local objective, the extra networks it runs and the
// layers it freezes, and says what all of it costs: its memory estimate before training (the
// task runner refuses a task whose estimate exceeds the device's cap, and the counting
// allocator enforces the cap while it trains) and the work it ran (FLOPs for the analytic clock,
// op by op for the calibrated one).
//
// Trainers (docs/ALGORITHMS.md has each one's source):
//   sgd              plain local SGD on cross-entropy. Options: scale (HeteroFL's 1/rate
//                    scaler), masked_ce (zero the logits of classes the device lacks), bn_l1
//                    (Network Slimming's L1 on BatchNorm scales), frozen_layers (a frozen prefix).
//   ordered_dropout  FjORD: each step trains the leftmost units of a width drawn from `widths`
//                    (rates of the global model); distill = 1 adds self-distillation from the
//                    device's widest submodel. Takes sgd's options too.
//   contrastive      MOON's model-contrastive term (Li et al., CVPR 2021) on top of sgd: the
//                    representation is pulled toward the received model's and pushed from the
//                    device's previous local model's (per-device state "previous"). Options:
//                    mu (weight), tau (temperature).
//   depthfl          DepthFL (Kim et al., ICLR 2023): every classifier of the submodel trains
//                    on CE plus mutual self-distillation (trainer/depthfl_loss.hpp). Options:
//                    kd_weight (this round's distillation weight), temperature, feddyn_alpha
//                    (> 0: FedDyn's correction, per-device state "feddyn_h"); sgd's too.
//   cross_block      Co-S²P (Li et al. 2024): every exit of the submodel trains on CE, the shallower
//                    ones also on γ·T²·KL towards the deepest (trainer/co_s2p_loss.hpp). Options:
//                    gamma, temperature, distill (0: CE only); sgd's too.
#include <cstdint>
#include <string>

#include "edgesim/device/compute_work.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec.hpp"
#include "edgesim/runtime/local_training.hpp"
#include "edgesim/runtime/task.hpp"

namespace edgesim {

// What a trainer gets for one task.
struct TrainerInput {
  const ModelSpec& global;     // the global model (rates refer to its widths)
  const ModelSpec& arch;       // the (sub)model this task trains
  const LocalRecipe& recipe;   // from the config: epochs, batch, lr, momentum, weight decay
  const Examples& data;        // the device's samples
  const TaskOrder& order;      // options and named tensors
  std::uint64_t seed;          // run.seed: the trainer's random streams are keyed by it, the device and the round
};

struct TrainerOutput {
  LocalResult local;
  double flops = 0;     // every pass it ran, for the analytic clock
  ComputeWork work;     // the same passes op by op, for the calibrated clock (device/compute_work.hpp)
  NamedTensors state;   // kept for the device's next task (per-device state)
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  // The task's training footprint in bytes (weights, gradients, optimizer, saved activations, and
  // whatever extra networks or copies the trainer holds).
  virtual std::uint64_t memory_bytes(const TrainerInput& in) const = 0;
  // Trains `net` (built from in.arch, loaded with the task's weights) on in.data.
  virtual TrainerOutput train(SpecNet& net, const TrainerInput& in) const = 0;
};

// The registered trainer of that name; throws std::invalid_argument for an unknown name.
const Trainer& trainer_named(const std::string& name);

}  // namespace edgesim
