#include "edgesim/runtime/learning_monitor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace edgesim {
namespace {

// Fixed digits, or three significant ones for a loss that has blown up.
std::string fixed(double x, int digits) {
  char buf[64];
  if (std::fabs(x) < 1e4) std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  else std::snprintf(buf, sizeof buf, "%.3g", x);
  return buf;
}

}  // namespace

void LearningMonitor::raise(bool& flag, const std::string& text, std::vector<std::string>& out) {
  if (flag) return;
  flag = true;
  out.push_back(text);
  all_.push_back(text);
}

std::vector<std::string> LearningMonitor::observe(const RoundRecord& r) {
  std::vector<std::string> out;
  const std::string round = "round " + std::to_string(r.round);
  const bool evaluated = !std::isnan(r.test_accuracy);
  // train_loss is NaN by design when no update was accepted; with updates it must be finite.
  const bool bad_train = r.participants > 0 && !std::isfinite(r.train_loss);
  const bool bad_test = evaluated && !std::isfinite(r.test_loss);
  if (bad_train || bad_test)
    raise(non_finite_,
          round + ": " + (bad_train ? "train" : "test") +
              " loss is not finite: training diverged (lower algorithm.lr or algorithm.momentum)",
          out);

  if (r.round == 0 && evaluated && std::isfinite(r.test_loss) && r.test_loss > 0)
    reference_loss_ = r.test_loss * std::max(1, o_.objective_terms);
  if (r.participants > 0 && std::isfinite(r.train_loss)) {
    if (reference_loss_ == 0 && r.train_loss > 0) {
      reference_loss_ = r.train_loss;  // no round 0: the first train loss is the reference
    } else if (o_.loss_growth > 0 && reference_loss_ > 0 && r.train_loss > o_.loss_growth * reference_loss_) {
      raise(grown_,
            round + ": train loss " + fixed(r.train_loss, 3) + " is more than run.warn_loss_growth = " +
                fixed(o_.loss_growth, 1) + " times the initial loss " + fixed(reference_loss_, 3) +
                ": training is diverging (lower algorithm.lr or algorithm.momentum)",
            out);
    }
  }

  if (evaluated && r.round >= 1 && o_.chance_evals > 0 && o_.classes > 1) {
    const double chance = 1.0 / o_.classes;
    at_chance_ = r.test_accuracy <= kChanceMargin * chance ? at_chance_ + 1 : 0;
    if (at_chance_ >= o_.chance_evals)
      raise(chance_,
            round + ": test accuracy " + fixed(100 * r.test_accuracy, 2) + "% has been at chance (1/" +
                std::to_string(o_.classes) + ") for " + std::to_string(at_chance_) +
                " evaluations in a row (run.warn_chance_evals): the model is not learning (check algorithm.lr, "
                "algorithm.momentum, data.alpha)",
            out);
  }
  return out;
}

}  // namespace edgesim
