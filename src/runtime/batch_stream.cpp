#include "edgesim/runtime/batch_stream.hpp"

#include <numeric>

#include "edgesim/common/rng.hpp"

namespace edgesim {

std::vector<std::int64_t> BatchStream::next() {
  if (order_.size() - at_ < static_cast<std::size_t>(batch_)) {
    order_.resize(static_cast<std::size_t>(samples_));
    std::iota(order_.begin(), order_.end(), std::int64_t(0));
    Rng rng(seed_, Purpose::kShuffle, static_cast<std::uint64_t>(-1), epoch_++);
    rng.shuffle(order_);
    at_ = 0;
  }
  std::vector<std::int64_t> out(order_.begin() + at_, order_.begin() + at_ + batch_);
  at_ += batch_;
  return out;
}

}  // namespace edgesim
