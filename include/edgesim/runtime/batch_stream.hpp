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

// The batch of iteration i (from 1) of that stream, for a run that may go back (a restart from a
// checkpoint runs earlier iterations again): the next one is drawn, the current one kept, an
// earlier one redrawn from the stream's start — the same numbers, so any rank gets them alike.
class BatchCursor {
 public:
  BatchCursor(std::uint64_t seed, std::int64_t samples, int batch)
      : seed_(seed), samples_(samples), batch_(batch), stream_(seed, samples, batch) {}
  const std::vector<std::int64_t>& at(int iteration) {
    if (iteration < drawn_ || drawn_ == 0) stream_ = BatchStream(seed_, samples_, batch_), drawn_ = 0;
    while (drawn_ < iteration) current_ = stream_.next(), ++drawn_;
    return current_;
  }

 private:
  std::uint64_t seed_;
  std::int64_t samples_;
  int batch_;
  BatchStream stream_;
  int drawn_ = 0;
  std::vector<std::int64_t> current_;
};

}  // namespace edgesim
