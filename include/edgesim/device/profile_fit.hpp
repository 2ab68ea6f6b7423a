#pragma once
// Fitting a compute profile's coefficients to measured times: non-negative least squares on
// relative error (each measurement's row is divided by its time, so a 20 µs op counts as much
// as a 20 ms one — the clock's error is judged relatively). Solved exactly by Lawson
// & Hanson's active-set method (Solving Least Squares Problems, 1974, ch. 23) on the normal
// equations of the column-scaled system — the problems are small (a few to ~20 coefficients).
#include <vector>

#include "edgesim/device/compute_profile.hpp"

namespace edgesim {

// min Σ_i ((a_i · x − t_i) / t_i)² over x ≥ 0; rows a_i of equal size n, times t_i > 0.
std::vector<double> fit_nonnegative(const std::vector<std::vector<double>>& rows, const std::vector<double>& times);

struct OpTiming {
  OpWork work;
  double seconds = 0;
};
// The (s_per_flop, s_per_byte, s_per_kernel, s_per_position) that best explain `timings` of one op class.
OpSpeed fit_op_speed(const std::vector<OpTiming>& timings);

// Relative error of a prediction: (predicted − measured) / measured.
inline double relative_error(double predicted, double measured) { return (predicted - measured) / measured; }

}  // namespace edgesim
