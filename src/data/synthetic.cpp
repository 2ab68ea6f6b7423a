#include "edgesim/data/synthetic.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"

namespace edgesim {
namespace {

// Large enough that classes stay separable in a few dozen pixels, small enough that single
// pixels are unreliable, so a model has to combine many of them.
constexpr double kNoiseSd = 64.0;
constexpr int kSuccessors = 4;

// Not one of rng.hpp's purposes on purpose: a run that uses the same seed for its model
// init or shuffling must not get streams that coincide with the data's. Purpose has a fixed
// underlying type, so any value is a valid Purpose.
enum Stream : std::uint64_t { kPrototypes = 0, kImageSamples = 1, kChain = 2, kWalk = 3 };

// Sum of four 16-bit uniforms from one draw (Irwin-Hall), scaled to mean 0 and sd 1: close
// enough to Gaussian for synthetic noise, and ~10x cheaper than Rng::normal's log and cos,
// which dominated generating a Fashion-MNIST-sized set.
double cheap_normal(Rng& rng) {
  const std::uint64_t r = rng.next();
  const double sum = double(r & 0xffff) + double((r >> 16) & 0xffff) +
                     double((r >> 32) & 0xffff) + double(r >> 48);
  constexpr double kScale = 1.7320508075688772 / 65536.0;  // sqrt(12 / 4) per unit uniform
  return (sum - 2.0 * 65535.0) * kScale;
}

void require(bool ok, const std::string& what) {
  if (!ok) throw InputError(what);
}

}  // namespace

ImageSet make_synthetic_images(std::int64_t count, int channels, int rows, int cols,
                               int num_classes, std::uint64_t seed, std::uint64_t stream) {
  const std::string who = "make_synthetic_images: ";
  require(count >= 0, who + "count must be >= 0, got " + std::to_string(count));
  require(channels >= 1 && rows >= 1 && cols >= 1,
          who + "channels, rows and cols must be at least 1, got " + std::to_string(channels) +
              " x " + std::to_string(rows) + " x " + std::to_string(cols));
  require(num_classes >= 1 && num_classes <= 256,
          who + "num_classes must be in 1..256 (labels are bytes), got " +
              std::to_string(num_classes));
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  // channels * rows < 2^62 cannot overflow; the next two products could.
  require(std::int64_t{channels} * rows <= kMax / cols, who + "image too large");
  const std::int64_t per_image = std::int64_t{channels} * rows * cols;
  require(per_image <= kMax / std::max<std::int64_t>(count, num_classes),
          who + "too many pixels for memory");

  Rng proto_rng(seed, Purpose::kSynthetic, kPrototypes);
  std::vector<double> prototypes(num_classes * per_image);
  for (double& p : prototypes) p = 255.0 * proto_rng.uniform();

  ImageSet set;
  set.count = count;
  set.channels = channels;
  set.rows = rows;
  set.cols = cols;
  set.num_classes = num_classes;
  set.labels.resize(count);
  set.pixels.resize(count * per_image);
  Rng rng(seed, Purpose::kSynthetic, kImageSamples, stream);
  std::uint8_t* out = set.pixels.data();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto label = static_cast<std::uint8_t>(rng.below(num_classes));
    set.labels[i] = label;
    const double* proto = prototypes.data() + label * per_image;
    for (std::int64_t p = 0; p < per_image; ++p) {
      const double v = std::round(proto[p] + kNoiseSd * cheap_normal(rng));
      *out++ = static_cast<std::uint8_t>(std::clamp(v, 0.0, 255.0));
    }
  }
  return set;
}

TokenCorpus make_synthetic_tokens(std::int64_t length, int vocab, std::uint64_t seed) {
  const std::string who = "make_synthetic_tokens: ";
  require(length >= 0, who + "length must be >= 0, got " + std::to_string(length));
  require(vocab >= 2, who + "vocab must be at least 2, got " + std::to_string(vocab));

  // successors[t * k + j] with cumulative probabilities in cumulative[t * k + j].
  Rng chain_rng(seed, Purpose::kSynthetic, kChain);
  const int k = std::min(vocab, kSuccessors);
  std::vector<std::int32_t> cycle(vocab);
  std::iota(cycle.begin(), cycle.end(), 0);
  chain_rng.shuffle(cycle);
  std::vector<std::int32_t> successors(std::size_t(vocab) * k);
  std::vector<double> cumulative(std::size_t(vocab) * k);
  for (int i = 0; i < vocab; ++i) {
    std::int32_t* next = successors.data() + std::size_t(cycle[i]) * k;
    // The cycle edge keeps the chain irreducible: no token is unreachable, and a walk cannot
    // get stuck in a small closed set.
    next[0] = cycle[(i + 1) % vocab];
    for (int j = 1; j < k; ++j) {
      std::int32_t t;
      do t = static_cast<std::int32_t>(chain_rng.below(vocab));
      while (std::find(next, next + j, t) != next + j);
      next[j] = t;
    }
    const std::vector<double> w = chain_rng.dirichlet(1.0, k);
    std::partial_sum(w.begin(), w.end(), cumulative.begin() + std::size_t(cycle[i]) * k);
  }

  auto walk = [&](std::int64_t n, std::uint64_t which) {
    Rng rng(seed, Purpose::kSynthetic, kWalk, which);
    std::vector<std::int32_t> out;
    out.reserve(n);
    auto t = static_cast<std::int32_t>(rng.below(vocab));
    for (std::int64_t i = 0; i < n; ++i) {
      out.push_back(t);
      const double u = rng.uniform();
      const double* cum = cumulative.data() + std::size_t(t) * k;
      // The last successor also takes u beyond a sum that rounding left just below 1.
      const int j = static_cast<int>(std::upper_bound(cum, cum + k - 1, u) - cum);
      t = successors[std::size_t(t) * k + j];
    }
    return out;
  };

  TokenCorpus corpus;
  corpus.train = walk(length, 0);
  corpus.test = walk(length > 0 ? std::max<std::int64_t>(1, length / 10) : 0, 1);
  corpus.vocab_size = vocab;
  corpus.vocab.reserve(vocab);
  for (int t = 0; t < vocab; ++t) corpus.vocab.push_back("t" + std::to_string(t));
  return corpus;
}

}  // namespace edgesim
