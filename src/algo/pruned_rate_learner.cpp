#include "edgesim/algo/pruned_rate_learner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace edgesim {

PrunedRateLearner::PrunedRateLearner(int workers, const RateLearnerOptions& options)
    : options_(options), keep_(static_cast<std::size_t>(workers), 1.0), full_time_s_(keep_.size(), 0.0) {}

void PrunedRateLearner::observe(const std::vector<Observation>& round) {
  const double p = options_.cost_exponent, beta = options_.time_ema;
  for (const Observation& o : round) {
    if (o.failed || !(o.update_s > 0)) continue;
    const double estimate = o.update_s / std::pow(keep_.at(o.worker), p);
    double& f = full_time_s_.at(o.worker);
    f = f > 0 ? beta * f + (1 - beta) * estimate : estimate;
  }
  // Over every worker seen so far, not just this round's: with partial participation the
  // target must not jump whenever the fastest worker sits a round out.
  double fastest = std::numeric_limits<double>::infinity();
  for (double f : full_time_s_)
    if (f > 0) fastest = std::min(fastest, f);
  if (std::isfinite(fastest)) target_s_ = (1 + options_.slack) * fastest;
  for (const Observation& o : round) {
    double& k = keep_.at(o.worker);
    if (o.failed || !(o.update_s > 0)) {
      k *= options_.failure_backoff;
    } else {
      const double predicted = full_time_s_[o.worker] * std::pow(k, p);
      k *= std::pow(target_s_ / predicted, options_.gain);
    }
    k = std::clamp(k, options_.keep_min, 1.0);
  }
}

std::string PrunedRateLearner::save_state() const {
  std::ostringstream out;
  out.precision(17);
  out << target_s_;
  for (std::size_t i = 0; i < keep_.size(); ++i) out << ' ' << keep_[i] << ' ' << full_time_s_[i];
  return out.str();
}

void PrunedRateLearner::load_state(const std::string& state) {
  std::istringstream in(state);
  in >> target_s_;
  for (std::size_t i = 0; i < keep_.size(); ++i) in >> keep_[i] >> full_time_s_[i];
  if (!in) throw std::runtime_error("checkpoint: the pruned-rate learner's state does not match this run's workers");
}

}  // namespace edgesim
