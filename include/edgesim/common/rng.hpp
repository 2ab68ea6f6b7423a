#pragma once
// Deterministic random streams. Every random draw in edgesim comes from a stream derived
// from (seed, purpose, a, b) — e.g. (seed, kShuffle, device, round) — so results never
// depend on which rank ran a task or in which order messages arrived. The generator and
// the distributions are our own (splitmix64 + xoshiro256**), not <random>'s, whose
// distributions differ between standard libraries.
#include <cstdint>
#include <vector>

namespace edgesim {

enum class Purpose : std::uint64_t {
  kModelInit = 1, kPartition = 2, kSelection = 3, kShuffle = 4, kSynthetic = 6, kDropout = 7,
  kBnStatistics = 8,  // the evaluation's BatchNorm statistics pass (runtime/bn_statistics.hpp)
  kFailure = 9,       // a pipeline run's random device failures (pipeline/fault_schedule.hpp)
  kMask = 10,         // Co-S²P's mask learning: batch order and Bernoulli samples (trainer/unit_masks.hpp)
};

class Rng {
 public:
  explicit Rng(std::uint64_t seed);
  Rng(std::uint64_t seed, Purpose purpose, std::uint64_t a = 0, std::uint64_t b = 0);

  std::uint64_t next();
  double uniform();                          // [0, 1)
  std::uint64_t below(std::uint64_t n);      // uniform in [0, n), unbiased
  double normal();                           // standard normal
  double gamma(double shape);                // Marsaglia–Tsang, shape > 0
  std::vector<double> dirichlet(double alpha, int k);
  template <class T>
  void shuffle(std::vector<T>& v) {
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(i)]);
  }

 private:
  std::uint64_t s_[4];
};

}  // namespace edgesim
