#include "edgesim/device/profile_fit.hpp"

#include <algorithm>
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
  if (n == 0) throw std::invalid_argument("fit_nonnegative: no coefficients");
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

  // Lawson & Hanson's active-set method: grow the set of free (positive) coefficients by the
  // one whose gradient most reduces the residual; step back to the boundary when a free one
  // would turn negative. Exact at termination (the KKT conditions hold).
  const std::size_t m = a.size();
  auto gradient = [&](const std::vector<double>& x) {  // Aᵀ(1 − A x)
    std::vector<double> g(n, 0.0);
    for (std::size_t i = 0; i < m; ++i) {
      double r = 1.0;
      for (std::size_t j = 0; j < n; ++j) r -= a[i][j] * x[j];
      for (std::size_t j = 0; j < n; ++j) g[j] += a[i][j] * r;
    }
    return g;
  };
  auto least_squares_on = [&](const std::vector<bool>& free, std::vector<double>* z) {
    std::vector<std::size_t> cols;
    for (std::size_t j = 0; j < n; ++j)
      if (free[j]) cols.push_back(j);
    const std::size_t k = cols.size();
    std::vector<std::vector<double>> mm(k, std::vector<double>(k, 0.0));
    std::vector<double> v(k, 0.0), sol;
    for (const auto& r : a)
      for (std::size_t p = 0; p < k; ++p) {
        v[p] += r[cols[p]];
        for (std::size_t q = 0; q < k; ++q) mm[p][q] += r[cols[p]] * r[cols[q]];
      }
    z->assign(n, 0.0);
    if (!solve(mm, v, &sol)) return false;
    for (std::size_t p = 0; p < k; ++p) (*z)[cols[p]] = sol[p];
    return true;
  };
  std::vector<double> best(n, 0.0);
  std::vector<bool> free(n, false);
  const double tol = 1e-10;
  for (std::size_t iter = 0; iter < 4 * n + 8; ++iter) {
    const std::vector<double> g = gradient(best);
    std::size_t pick = n;
    for (std::size_t j = 0; j < n; ++j)
      if (!free[j] && g[j] > tol && (pick == n || g[j] > g[pick])) pick = j;
    if (pick == n) break;  // optimal: no bound coefficient would lower the residual
    free[pick] = true;
    for (std::size_t inner = 0; inner <= n; ++inner) {
      std::vector<double> z;
      if (!least_squares_on(free, &z)) {  // a dependent column: leave it at zero
        free[pick] = false;
        break;
      }
      bool positive = true;
      for (std::size_t j = 0; j < n; ++j) positive = positive && (!free[j] || z[j] > 0);
      if (positive) {
        best = z;
        break;
      }
      double alpha = 1.0;
      for (std::size_t j = 0; j < n; ++j)
        if (free[j] && z[j] <= 0) alpha = std::min(alpha, best[j] / (best[j] - z[j]));
      for (std::size_t j = 0; j < n; ++j) {
        best[j] += alpha * (z[j] - best[j]);
        if (free[j] && best[j] <= tol * 1e-3) free[j] = false, best[j] = 0.0;
      }
    }
  }
  for (std::size_t j = 0; j < n; ++j) best[j] /= scale[j];
  return best;
}

OpSpeed fit_op_speed(const std::vector<OpTiming>& timings) {
  std::vector<std::vector<double>> rows;
  std::vector<double> times;
  for (const OpTiming& t : timings)
    rows.push_back({t.work.flops, t.work.bytes, t.work.kernels, t.work.positions}), times.push_back(t.seconds);
  const std::vector<double> x = fit_nonnegative(rows, times);
  return {x[0], x[1], x[2], x[3]};
}

}  // namespace edgesim
