#pragma once
// Watches a run's /rounds rows for the signs that it is not learning, and raises each kind of
// warning at most once per run: a non-finite train or test loss; a train loss more than
// `run.warn_loss_growth` times the initial loss (round 0's test loss times the number of
// classifiers the local objective sums — an objective over five exits starts at about five
// times one classifier's loss —, else the first train loss); test accuracy at chance (at most kChanceMargin / classes) for `run.warn_chance_evals`
// consecutive evaluations after training began (round 0 is at chance by construction).
#include <string>
#include <vector>

#include "edgesim/io/results.hpp"

namespace edgesim {

constexpr double kChanceMargin = 1.2;  // "at chance": accuracy <= 1.2 / classes

struct LearningMonitorOptions {
  int classes = 0;          // 0 or 1: no chance check
  double loss_growth = 3;   // 0 = never
  int chance_evals = 3;     // 0 = never
  int objective_terms = 1;  // classifiers' losses the train loss sums (Algorithm::objective_terms)
};

class LearningMonitor {
 public:
  explicit LearningMonitor(const LearningMonitorOptions& options) : o_(options) {}

  // One /rounds row; returns the warnings it raises now (each kind once per run).
  std::vector<std::string> observe(const RoundRecord& r);
  const std::vector<std::string>& warnings() const { return all_; }  // every warning so far

 private:
  void raise(bool& flag, const std::string& text, std::vector<std::string>& out);

  LearningMonitorOptions o_;
  bool non_finite_ = false, grown_ = false, chance_ = false;
  double reference_loss_ = 0;
  int at_chance_ = 0;
  std::vector<std::string> all_;
};

}  // namespace edgesim
