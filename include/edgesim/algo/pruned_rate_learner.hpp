#pragma once
// AdaptCL's pruned-rate learner [choice: a reconstruction, docs/ALGORITHMS.md]: each
// worker's keep rate (the share of every layer's channels it trains) learned from nothing
// but its observed update times, so that every worker takes about as long as the fastest
// worker would with the full model.
//
// After each round, for the workers that reported:
//   F_i  = T_i / keep_i^p           the worker's full-model time, estimated (cost ∝ keep^p;
//                                    optionally smoothed: F_i ← β·F_i + (1−β)·estimate)
//   T*   = (1 + slack) · min_i F_i  the target: the fastest worker at full width, plus slack
//                                    (min over every worker seen so far, its latest F_i)
//   keep_i ← clip(keep_i · (T* / (F_i·keep_i^p))^gain, keep_min, 1)   (F_i·keep_i^p = T_i
//                                    when not smoothed)
// `slack` trades accuracy (larger submodels) for time. A worker whose task failed (out of
// memory, or cancelled at a deadline) has no time to learn from: its keep rate is multiplied
// by `failure_backoff`. Workers start at full width: the learner knows nothing of them.
#include <string>
#include <vector>

namespace edgesim {

struct RateLearnerOptions {
  double slack = 0.1;
  double gain = 0.5;
  double cost_exponent = 2.0;  // p: conv FLOPs and weights scale with keep²
  double keep_min = 0.1;
  double time_ema = 0.0;       // β; 0 = the last observation only
  double failure_backoff = 0.75;
};

class PrunedRateLearner {
 public:
  PrunedRateLearner(int workers, const RateLearnerOptions& options);

  struct Observation {
    int worker = 0;
    double update_s = 0;  // download + compute + upload, as the server observed it
    bool failed = false;
  };
  // One round's reports, any order; workers that did not take part keep their rate.
  void observe(const std::vector<Observation>& round);

  double keep(int worker) const { return keep_.at(worker); }
  double target_s() const { return target_s_; }  // the last round's T* (0 before any)

  // Checkpoints: the learner's whole state as text, and back.
  std::string save_state() const;
  void load_state(const std::string& state);

 private:
  RateLearnerOptions options_;
  std::vector<double> keep_, full_time_s_;  // full_time_s_ = 0: not observed yet
  double target_s_ = 0;
};

}  // namespace edgesim
