#pragma once
// What a training task computes, in the terms a compute model more detailed than FLOPs prices
// (device/compute_profile.hpp). The analytic clock needs only FLOPs (device/cost.hpp); real
// hardware also pays for the bytes every op moves and a fixed cost per op (a kernel launch, an
// operator dispatch), which dominate for the small submodels width-scaling methods hand out.
//
// Every layer falls in one of seven op classes, each with its own speed — convolutions whose
// output channels fill the CPU's vector registers (a multiple of kVectorFloats), convolutions
// whose channels do not (measured here at ~1.8x the time per FLOP: the kernels' tails run
// scalar — the narrow and oddly rounded widths that width scaling hands out), matrix products
// (linear, attention, the tied LM head), normalisations (BN, LayerNorm), activations and
// additions, pooling, and embeddings (token and positional tables, a class token) — and is
// described, per step of batch b, by four numbers: FLOPs (element-wise ops: one per output
// element), bytes moved (4 × (its input and output activations, attention's internals
// included) × b + 4 × its parameters), kernels (op dispatches, a constant per layer kind) and
// positions (b × its output's spatial positions or tokens: CPU convolution kernels pay per
// output position whatever the channel count — unfolding the input, looping over pixels —
// which is what keeps a narrow network's time from falling with its FLOPs). A step runs each
// layer forward, and the trainable ones backward too (priced by the backward coefficients of
// the same class), then an optimizer update over the trainable parameters.
#include <array>
#include <cstdint>

#include "edgesim/device/cost.hpp"
#include "edgesim/model/spec.hpp"

namespace edgesim {

enum class OpClass { kConv = 0, kConvUnaligned, kMatmul, kNorm, kActivation, kPool, kEmbedding };
inline constexpr int kOpClasses = 7;
inline constexpr int kVectorFloats = 8;  // floats per vector register (AVX2) [choice: fitted on x86 hosts]
// The class of `spec`'s layer `layer`; false for views (Flatten, a ViT's token reshapes), which
// cost nothing.
bool op_class_of(const ModelSpec& spec, int layer, OpClass* out);

struct OpWork {
  double flops = 0, bytes = 0, kernels = 0, positions = 0;
};
// One layer's forward work for a batch of `batch` samples.
OpWork layer_work(const ModelSpec& spec, int layer, int batch);

// A task's work, summed over its steps: what ComputeProfile::seconds prices (linearly).
struct ComputeWork {
  std::array<OpWork, kOpClasses> forward{}, backward{};
  double steps = 0;              // optimizer steps (each has a fixed cost: batch slicing, loss, zero_grad)
  double optimizer_floats = 0;   // trainable parameters updated, summed over steps
  double optimizer_tensors = 0;  // parameter tensors updated, summed over steps
  // Setting the task up: its network built (parameters allocated and initialised) and the
  // weights it received loaded — inside a task's measured time, as in the task runner.
  double tasks = 0;              // networks built
  double setup_floats = 0;       // their parameters
  double setup_tensors = 0;      // their parameter tensors

  ComputeWork& operator+=(const ComputeWork& o);
  ComputeWork scaled(double k) const;
};

// One optimizer step of `arch` on a batch of `batch`, with the trainer's shape: frozen layers
// run forward only; each extra autograd pass (forward_passes > 1) repeats forward and backward;
// no-grad passes add forward work of the same architecture.
ComputeWork training_step_work(const ModelSpec& arch, const TrainingShape& shape, int batch);
// The same for spec layers [begin, end) only, without the step's fixed cost (steps = 0): what a
// pipeline stage holding those layers runs per micro-batch (pipeline/fleet.hpp). Its layers'
// work is affine in `batch` (kernels and weight bytes do not grow with it).
ComputeWork layers_step_work(const ModelSpec& arch, int begin, int end, const TrainingShape& shape, int batch);
// Building `arch`'s network and loading its weights, once per task.
ComputeWork task_setup_work(const ModelSpec& arch);
// A task of `samples` samples in batches of `batch` (the last may be smaller), per epoch.
ComputeWork training_work(const ModelSpec& arch, const TrainingShape& shape, int batch, std::int64_t samples);

}  // namespace edgesim
