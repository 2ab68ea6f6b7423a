#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/data/synthetic.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using namespace edgesim::test_support;
using edgesim::ImageSet;
using edgesim::TokenCorpus;

namespace {

// Per-class mean image of `set`.
std::vector<std::vector<double>> class_means(const ImageSet& set) {
  const std::size_t per = std::size_t(set.channels) * set.rows * set.cols;
  std::vector<std::vector<double>> sum(set.num_classes, std::vector<double>(per, 0.0));
  std::vector<int> n(set.num_classes, 0);
  for (std::int64_t i = 0; i < set.count; ++i) {
    ++n[set.labels[i]];
    for (std::size_t p = 0; p < per; ++p) sum[set.labels[i]][p] += set.pixels[i * per + p];
  }
  for (int c = 0; c < set.num_classes; ++c) {
    for (double& v : sum[c]) v /= std::max(n[c], 1);
  }
  return sum;
}

// Accuracy on `test` of the nearest-class-mean classifier fitted on `train`.
double nearest_mean_accuracy(const ImageSet& train, const ImageSet& test) {
  const auto means = class_means(train);
  const std::size_t per = means[0].size();
  int correct = 0;
  for (std::int64_t i = 0; i < test.count; ++i) {
    int best = -1;
    double best_d = std::numeric_limits<double>::infinity();
    for (int c = 0; c < train.num_classes; ++c) {
      double d = 0;
      for (std::size_t p = 0; p < per; ++p) {
        const double diff = test.pixels[i * per + p] - means[c][p];
        d += diff * diff;
      }
      if (d < best_d) best_d = d, best = c;
    }
    correct += best == test.labels[i];
  }
  return double(correct) / test.count;
}

}  // namespace

TEST_CASE("make_synthetic_images has the requested shape and is deterministic", "[synthetic]") {
  const ImageSet a = edgesim::make_synthetic_images(100, 3, 5, 7, 4, 11);
  CHECK(a.count == 100);
  CHECK(a.channels == 3);
  CHECK(a.rows == 5);
  CHECK(a.cols == 7);
  CHECK(a.num_classes == 4);
  CHECK(a.pixels.size() == 100u * 3 * 5 * 7);
  REQUIRE(a.labels.size() == 100u);
  CHECK(std::set<int>(a.labels.begin(), a.labels.end()) == std::set<int>{0, 1, 2, 3});
  // Noise with sd 64 around uniform prototypes must reach both ends of the byte range.
  CHECK(*std::min_element(a.pixels.begin(), a.pixels.end()) == 0);
  CHECK(*std::max_element(a.pixels.begin(), a.pixels.end()) == 255);

  const ImageSet same = edgesim::make_synthetic_images(100, 3, 5, 7, 4, 11);
  CHECK(same.pixels == a.pixels);
  CHECK(same.labels == a.labels);

  const ImageSet other_seed = edgesim::make_synthetic_images(100, 3, 5, 7, 4, 12);
  CHECK(other_seed.pixels != a.pixels);
  const ImageSet other_stream = edgesim::make_synthetic_images(100, 3, 5, 7, 4, 11, 1);
  CHECK(other_stream.pixels != a.pixels);

  const ImageSet prefix = edgesim::make_synthetic_images(30, 3, 5, 7, 4, 11);
  CHECK(prefix.labels == std::vector<std::uint8_t>(a.labels.begin(), a.labels.begin() + 30));
  CHECK(prefix.pixels == std::vector<std::uint8_t>(a.pixels.begin(), a.pixels.begin() + 30 * 105));

  CHECK(edgesim::make_synthetic_images(0, 1, 1, 1, 1, 0).pixels.empty());
}

TEST_CASE("synthetic images are learnable and streams share the prototypes", "[synthetic]") {
  const ImageSet train = edgesim::make_synthetic_images(500, 3, 8, 8, 10, 5, 0);
  const ImageSet test = edgesim::make_synthetic_images(300, 3, 8, 8, 10, 5, 1);
  CHECK(nearest_mean_accuracy(train, test) > 0.95);
  // A different seed means different prototypes: the train means no longer fit.
  const ImageSet stranger = edgesim::make_synthetic_images(300, 3, 8, 8, 10, 6, 1);
  CHECK(nearest_mean_accuracy(train, stranger) < 0.4);
}

TEST_CASE("make_synthetic_images rejects impossible shapes", "[synthetic]") {
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_images(-1, 1, 2, 2, 2, 0); }),
             Contains("count"));
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_images(1, 0, 2, 2, 2, 0); }),
             Contains("0 x 2 x 2"));
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_images(1, 1, 2, 2, 257, 0); }),
             Contains("num_classes must be in 1..256"));
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_images(1, 1, 2, 2, 0, 0); }),
             Contains("num_classes"));
  const int big = std::numeric_limits<int>::max();
  CHECK_THAT(input_error_of([&] { edgesim::make_synthetic_images(1, big, big, big, 2, 0); }),
             Contains("too large"));
}

TEST_CASE("make_synthetic_tokens is deterministic and sized as documented", "[synthetic]") {
  const TokenCorpus a = edgesim::make_synthetic_tokens(1000, 30, 3);
  CHECK(a.train.size() == 1000u);
  CHECK(a.test.size() == 100u);
  CHECK(a.vocab_size == 30);
  REQUIRE(a.vocab.size() == 30u);
  CHECK(a.vocab[0] == "t0");
  CHECK(a.vocab[29] == "t29");
  CHECK(std::all_of(a.train.begin(), a.train.end(), [](auto t) { return t >= 0 && t < 30; }));
  CHECK(a.test != std::vector<std::int32_t>(a.train.begin(), a.train.begin() + 100));

  const TokenCorpus same = edgesim::make_synthetic_tokens(1000, 30, 3);
  CHECK(same.train == a.train);
  CHECK(same.test == a.test);
  CHECK(edgesim::make_synthetic_tokens(1000, 30, 4).train != a.train);

  CHECK(edgesim::make_synthetic_tokens(5, 2, 0).test.size() == 1u);
  CHECK(edgesim::make_synthetic_tokens(0, 2, 0).test.empty());
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_tokens(10, 1, 0); }),
             Contains("vocab must be at least 2"));
  CHECK_THAT(input_error_of([] { edgesim::make_synthetic_tokens(-1, 5, 0); }),
             Contains("length"));
}

TEST_CASE("synthetic tokens follow a sparse chain a bigram model can learn", "[synthetic]") {
  const int vocab = 50;
  const TokenCorpus c = edgesim::make_synthetic_tokens(50000, vocab, 9);
  std::map<int, std::map<int, int>> bigrams;
  std::vector<int> unigram(vocab, 0);
  for (std::size_t i = 0; i + 1 < c.train.size(); ++i) {
    ++bigrams[c.train[i]][c.train[i + 1]];
    ++unigram[c.train[i + 1]];
  }
  CHECK(bigrams.size() == std::size_t(vocab));  // the cycle edge reaches every token
  for (const auto& [token, next] : bigrams) CHECK(next.size() <= 4);

  // Cross-entropy on test (add-0.01 smoothing): bigram far below unigram, which is near log V.
  double bigram_ce = 0, unigram_ce = 0;
  const double n = c.train.size() - 1;
  for (std::size_t i = 0; i + 1 < c.test.size(); ++i) {
    const int from = c.test[i], to = c.test[i + 1];
    int row = 0;
    for (const auto& [t, k] : bigrams[from]) row += k;
    bigram_ce -= std::log((bigrams[from][to] + 0.01) / (row + 0.01 * vocab));
    unigram_ce -= std::log((unigram[to] + 0.01) / (n + 0.01 * vocab));
  }
  bigram_ce /= c.test.size() - 1;
  unigram_ce /= c.test.size() - 1;
  CHECK(unigram_ce > 0.8 * std::log(vocab));
  CHECK(bigram_ce < std::log(4.0) + 0.05);
  CHECK(bigram_ce < 0.5 * unigram_ce);
}
