#pragma once
// The batches of a pipeline run: `batch` sample numbers at a time, every sample once per
// epoch, each epoch shuffled from the (seed, shuffle) stream of device "-1" (the pooled data,
// not one device's). Rank 0 and every executor rank draw the same sequence.
#include <cstdint>
#include <vector>

namespace edgesim {

class BatchStream {
 public:
  BatchStream(std::uint64_t seed, std::int64_t samples, int batch) : seed_(seed), samples_(samples), batch_(batch) {}
  std::vector<std::int64_t> next();

 private:
  std::uint64_t seed_;
  std::int64_t samples_;
  int batch_;
  std::uint64_t epoch_ = 0;
  std::vector<std::int64_t> order_;
  std::size_t at_ = 0;
};

}  // namespace edgesim
