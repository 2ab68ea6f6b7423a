#pragma once
// A device's compute speed, as more than FLOP/s: the calibrated clock (`clock.mode = "calibrated"`)
// prices a task's ComputeWork (device/compute_work.hpp) with it. Per op class and direction,
//   time = flops / flops_per_second + bytes / bytes_per_second + kernels × kernel_seconds
//          + positions / positions_per_second
// — an additive roofline: the compute and memory terms of Williams et al.'s roofline (CACM 2009)
// summed rather than maxed (as PALEO, Qi et al. ICLR 2017, does per layer), so the model is
// linear in its coefficients and can be fitted by least squares, plus the fixed per-op dispatch
// cost that dominates small kernels, and a per-output-position cost (compute_work.hpp). Each step adds `step_seconds`; the optimizer update costs
// floats / optimizer_floats_per_second + tensors × optimizer_tensor_seconds. Each task adds its
// set-up (network built, weights loaded): seconds + floats / floats_per_second + tensors ×
// tensor_seconds.
//
// A profile is a TOML file (written by `edgesim profile`, or by hand from published figures):
//   [profile] name = "...", source = "where the numbers come from"
//   [forward.conv] flops_per_second = 2.1e10, bytes_per_second = 8e9, kernel_seconds = 1.2e-5,
//                  positions_per_second = 3e8
//   ... forward.{conv_unaligned,matmul,norm,activation,pool,embedding}, backward.{the same seven}
// (op classes: device/compute_work.hpp). A file of the older three-class format (conv, matmul,
// elementwise) still loads: conv_unaligned is priced as conv, the four element-wise classes as
// elementwise.
//   [step] seconds = 4e-5
//   [optimizer] floats_per_second = 1e9, tensor_seconds = 3e-6
//   [task] seconds = 1e-4, floats_per_second = 5e8, tensor_seconds = 5e-6
// A speed of "inf" means the term costs nothing (a fitted coefficient of zero).
#include <array>
#include <string>
#include <vector>

#include "edgesim/device/compute_work.hpp"

namespace edgesim {

struct OpSpeed {
  // Seconds per FLOP, per byte, per kernel and per position: the model's linear coefficients (0 = free).
  double s_per_flop = 0, s_per_byte = 0, s_per_kernel = 0, s_per_position = 0;
  double seconds(const OpWork& w) const {
    return w.flops * s_per_flop + w.bytes * s_per_byte + w.kernels * s_per_kernel + w.positions * s_per_position;
  }
};

struct ComputeProfile {
  std::string name, source;
  std::array<OpSpeed, kOpClasses> forward{}, backward{};
  double step_s = 0;
  double s_per_optimizer_float = 0, s_per_optimizer_tensor = 0;
  double task_s = 0, s_per_setup_float = 0, s_per_setup_tensor = 0;

  double seconds(const ComputeWork& w) const;
};

// Every linear coefficient of `p` (the op speeds, step, optimizer and set-up costs), in a fixed
// order: ComputeProfile::seconds is linear in each.
std::vector<double*> profile_coefficients(ComputeProfile& p);

// Throws InputError naming the file and the key: unreadable file, unknown key, a missing or
// malformed coefficient (a class missing, and not covered by the older format's key).
ComputeProfile load_compute_profile(const std::string& path);
// Writes `p` in the format above (coefficients round-trip to within one rounding of 1/x).
void save_compute_profile(const std::string& path, const ComputeProfile& p);

const char* op_class_name(OpClass c);  // "conv", "conv_unaligned", "matmul", "norm", "activation", "pool", "embedding"

}  // namespace edgesim
