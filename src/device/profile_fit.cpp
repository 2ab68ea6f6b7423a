#include "edgesim/device/profile_fit.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace edgesim {
namespace {

// Solves the normal equations M x = v (k x k, symmetric positive semi-definite) by Gaussian
// elimination with partial pivoting; false when singular.
bool solve(std::vector<std::vector<double>> m, std::vector<double> v, std::vector<double>* x) {
  const std::size_t k = v.size();
  for (std::size_t c = 0; c < k; ++c) {
    std::size_t pivot = c;
    for (std::size_t r = c + 1; r < k; ++r)
      if (std::fabs(m[r][c]) > std::fabs(m[pivot][c])) pivot = r;
    if (std::fabs(m[pivot][c]) < 1e-300) return false;
    std::swap(m[c], m[pivot]);
    std::swap(v[c], v[pivot]);
    for (std::size_t r = c + 1; r < k; ++r) {
      const double f = m[r][c] / m[c][c];
      for (std::size_t j = c; j < k; ++j) m[r][j] -= f * m[c][j];
      v[r] -= f * v[c];
    }
  }
  x->assign(k, 0.0);
  for (std::size_t c = k; c-- > 0;) {
    double s = v[c];
    for (std::size_t j = c + 1; j < k; ++j) s -= m[c][j] * (*x)[j];
    (*x)[c] = s / m[c][c];
  }
  return true;
}

}  // namespace

std::vector<double> fit_nonnegative(const std::vector<std::vector<double>>& rows, const std::vector<double>& times) {
  if (rows.empty() || rows.size() != times.size()) throw std::invalid_argument("fit_nonnegative: no measurements");
  const std::size_t n = rows[0].size();
  if (n == 0 || n > 12) throw std::invalid_argument("fit_nonnegative: 1 to 12 coefficients");
  // Relative error: divide each row and its target by the measured time. Columns are scaled to
  // unit norm so that FLOPs (1e9) and kernels (1) condition alike.
  std::vector<std::vector<double>> a(rows.size(), std::vector<double>(n));
  std::vector<double> scale(n, 0.0);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!(times[i] > 0) || rows[i].size() != n) throw std::invalid_argument("fit_nonnegative: bad measurement");
    for (std::size_t j = 0; j < n; ++j) a[i][j] = rows[i][j] / times[i], scale[j] += a[i][j] * a[i][j];
  }
  for (double& s : scale) s = s > 0 ? std::sqrt(s) : 1.0;
  for (auto& r : a)
    for (std::size_t j = 0; j < n; ++j) r[j] /= scale[j];

  std::vector<double> best(n, 0.0);
  double best_residual = static_cast<double>(rows.size());  // x = 0: every relative error is -1
  for (unsigned mask = 1; mask < (1u << n); ++mask) {
    std::vector<std::size_t> cols;
    for (std::size_t j = 0; j < n; ++j)
      if (mask & (1u << j)) cols.push_back(j);
    const std::size_t k = cols.size();
    std::vector<std::vector<double>> m(k, std::vector<double>(k, 0.0));
    std::vector<double> v(k, 0.0), x;
    for (const auto& r : a)
      for (std::size_t p = 0; p < k; ++p) {
        v[p] += r[cols[p]];  // target 1 after dividing by the time
        for (std::size_t q = 0; q < k; ++q) m[p][q] += r[cols[p]] * r[cols[q]];
      }
    if (!solve(m, v, &x)) continue;
    bool feasible = true;
    for (double xi : x) feasible = feasible && xi >= 0;
    if (!feasible) continue;
    double residual = 0;
    for (const auto& r : a) {
      double pred = 0;
      for (std::size_t p = 0; p < k; ++p) pred += r[cols[p]] * x[p];
      residual += (pred - 1) * (pred - 1);
    }
    if (residual < best_residual) {
      best_residual = residual;
      best.assign(n, 0.0);
      for (std::size_t p = 0; p < k; ++p) best[cols[p]] = x[p];
    }
  }
  for (std::size_t j = 0; j < n; ++j) best[j] /= scale[j];
  return best;
}

OpSpeed fit_op_speed(const std::vector<OpTiming>& timings) {
  std::vector<std::vector<double>> rows;
  std::vector<double> times;
  for (const OpTiming& t : timings) rows.push_back({t.work.flops, t.work.bytes, t.work.kernels}), times.push_back(t.seconds);
  const std::vector<double> x = fit_nonnegative(rows, times);
  return {x[0], x[1], x[2]};
}

}  // namespace edgesim
