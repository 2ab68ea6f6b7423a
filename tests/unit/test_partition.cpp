#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/data/partition.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using namespace edgesim::test_support;
using edgesim::Partition;
using edgesim::Purpose;
using edgesim::Rng;
using Labels = std::vector<std::uint8_t>;

namespace {

// per_class samples of each class, grouped by label (as the shards test needs) unless
// shuffled with `seed`. `extra` appends a few samples of class 0 to make counts uneven.
Labels make_labels(int classes, int per_class, std::uint64_t seed = 0, int extra = 0) {
  Labels labels;
  for (int c = 0; c < classes; ++c) labels.insert(labels.end(), per_class, std::uint8_t(c));
  labels.insert(labels.end(), extra, std::uint8_t(0));
  if (seed != 0) {
    Rng rng(seed);
    rng.shuffle(labels);
  }
  return labels;
}

void check_is_partition(const Partition& p, const Labels& labels, int classes, int devices) {
  REQUIRE(p.indices.size() == std::size_t(devices));
  REQUIRE(p.label_histogram.size() == std::size_t(devices));
  std::vector<int> owners(labels.size(), 0);
  for (int d = 0; d < devices; ++d) {
    const auto& idx = p.indices[d];
    CHECK(std::is_sorted(idx.begin(), idx.end()));
    std::vector<std::int64_t> hist(classes, 0);
    const bool in_range = std::all_of(idx.begin(), idx.end(), [&](std::int64_t i) {
      return i >= 0 && i < std::int64_t(labels.size());
    });
    REQUIRE(in_range);
    for (std::int64_t i : idx) {
      ++owners[i];
      ++hist[labels[i]];
    }
    CHECK(p.label_histogram[d] == hist);
  }
  CHECK(std::all_of(owners.begin(), owners.end(), [](int n) { return n == 1; }));
}

// Mean over devices of the total-variation distance between the device's label
// distribution and the global one: 0 for perfectly iid, near 1 for one class per device.
double mean_label_skew(const Partition& p, const Labels& labels, int classes) {
  std::vector<double> global(classes, 0.0);
  for (auto l : labels) global[l] += 1.0 / labels.size();
  double sum = 0.0;
  for (const auto& hist : p.label_histogram) {
    double n = 0.0;
    for (auto c : hist) n += c;
    double tv = 0.0;
    for (int c = 0; c < classes; ++c) tv += std::abs(hist[c] / n - global[c]);
    sum += tv / 2;
  }
  return sum / p.label_histogram.size();
}

}  // namespace

TEST_CASE("every sample is owned by exactly one device", "[partition]") {
  const Labels labels = make_labels(10, 600, /*seed=*/3, /*extra=*/7);
  for (int devices : {1, 2, 7, 16, 100}) {
    INFO("devices = " << devices);
    Rng rng(42, Purpose::kPartition);
    check_is_partition(edgesim::partition_iid(labels, 10, devices, rng), labels, 10, devices);
    check_is_partition(edgesim::partition_dirichlet(labels, 10, devices, 0.5, rng), labels, 10,
                       devices);
    check_is_partition(edgesim::partition_shards(labels, 10, devices, 2, rng), labels, 10,
                       devices);
  }
}

TEST_CASE("iid shares differ by at most one", "[partition]") {
  const Labels labels = make_labels(10, 600, 3, 7);
  for (int devices : {1, 3, 16, 6007}) {
    INFO("devices = " << devices);
    Rng rng(1, Purpose::kPartition);
    const Partition p = edgesim::partition_iid(labels, 10, devices, rng);
    std::size_t lo = labels.size(), hi = 0;
    for (const auto& idx : p.indices) {
      lo = std::min(lo, idx.size());
      hi = std::max(hi, idx.size());
    }
    CHECK(hi - lo <= 1);
    CHECK(lo >= 1);
  }
}

TEST_CASE("Dirichlet label skew grows as alpha shrinks", "[partition]") {
  const Labels labels = make_labels(10, 6000, 5);
  auto skew = [&](double alpha) {
    Rng rng(9, Purpose::kPartition);
    const Partition p = edgesim::partition_dirichlet(labels, 10, 16, alpha, rng);
    check_is_partition(p, labels, 10, 16);
    return mean_label_skew(p, labels, 10);
  };
  const double skew_01 = skew(0.1), skew_1 = skew(1.0), skew_100 = skew(100.0);
  INFO("skew at alpha 0.1, 1, 100: " << skew_01 << ", " << skew_1 << ", " << skew_100);
  CHECK(skew_01 > skew_1);
  CHECK(skew_1 > skew_100);
  CHECK(skew_100 < 0.1);  // near iid
  CHECK(skew_01 > 0.5);   // most devices dominated by a few classes
}

TEST_CASE("Dirichlet respects min_samples or says why it cannot", "[partition]") {
  const Labels labels = make_labels(10, 6000, 5);
  Rng rng(11, Purpose::kPartition);
  const Partition p = edgesim::partition_dirichlet(labels, 10, 16, 0.05, rng, 200);
  check_is_partition(p, labels, 10, 16);
  for (const auto& idx : p.indices) CHECK(idx.size() >= 200u);

  SECTION("impossible by counting") {
    CHECK_THAT(input_error_of([&] {
                 edgesim::partition_dirichlet(labels, 10, 16, 1.0, rng, 4000);
               }),
               Contains("16 devices at least 4000 samples from only 60000"));
  }
  SECTION("possible by counting, hopeless in practice") {
    // With alpha this small each class goes to one device, so at most 10 of 16 get data.
    const Labels small = make_labels(10, 100, 5);
    CHECK_THAT(input_error_of([&] {
                 edgesim::partition_dirichlet(small, 10, 16, 0.001, rng, 10);
               }),
               Contains("after 1000 draws") && Contains("larger alpha"));
  }
}

TEST_CASE("the same seed gives the same partition, another seed another", "[partition]") {
  const Labels labels = make_labels(10, 600, 3, 7);
  using Fn = Partition (*)(const Labels&, Rng&);
  const Fn partitioners[] = {
      [](const Labels& l, Rng& r) { return edgesim::partition_iid(l, 10, 8, r); },
      [](const Labels& l, Rng& r) { return edgesim::partition_dirichlet(l, 10, 8, 0.5, r); },
      [](const Labels& l, Rng& r) { return edgesim::partition_shards(l, 10, 8, 2, r); },
  };
  for (std::size_t k = 0; k < 3; ++k) {
    INFO("partitioner " << k);
    Rng a(100, Purpose::kPartition), b(100, Purpose::kPartition), c(101, Purpose::kPartition);
    const Partition pa = partitioners[k](labels, a);
    const Partition pb = partitioners[k](labels, b);
    const Partition pc = partitioners[k](labels, c);
    CHECK(pa.indices == pb.indices);
    CHECK(pa.label_histogram == pb.label_histogram);
    CHECK(pa.indices != pc.indices);
  }
}

TEST_CASE("shards give each device at most shards_per_device labels", "[partition]") {
  // Class sizes are multiples of the shard size, so no shard straddles two labels.
  struct Case { int devices, shards_per_device; };
  for (const Case& c : {Case{100, 2}, Case{50, 3}, Case{10, 1}, Case{20, 5}}) {
    INFO("devices = " << c.devices << ", shards_per_device = " << c.shards_per_device);
    for (std::uint64_t seed : {0u, 17u}) {  // label-sorted and shuffled input
      const Labels labels = make_labels(10, 600, seed);
      Rng rng(seed + 1, Purpose::kPartition);
      const Partition p =
          edgesim::partition_shards(labels, 10, c.devices, c.shards_per_device, rng);
      check_is_partition(p, labels, 10, c.devices);
      for (const auto& hist : p.label_histogram) {
        const auto labels_held =
            std::count_if(hist.begin(), hist.end(), [](auto n) { return n > 0; });
        CHECK(labels_held <= c.shards_per_device);
      }
      for (const auto& idx : p.indices) {
        CHECK(idx.size() == 6000u / c.devices);
      }
    }
  }
}

TEST_CASE("shard leftovers go to the last shards", "[partition]") {
  // 23 samples in 5 shards: sizes 4, 4, 5, 5, 5 in label order.
  const Labels labels = make_labels(1, 23);
  Rng rng(3, Purpose::kPartition);
  const Partition p = edgesim::partition_shards(labels, 1, 5, 1, rng);
  check_is_partition(p, labels, 1, 5);
  std::multiset<std::size_t> sizes;
  for (const auto& idx : p.indices) sizes.insert(idx.size());
  CHECK(sizes == std::multiset<std::size_t>{4, 4, 5, 5, 5});
  for (const auto& idx : p.indices) {
    if (idx.size() == 4) CHECK(idx.front() < 8);
    if (idx.size() == 5) CHECK(idx.front() >= 8);
  }
}

TEST_CASE("invalid partition arguments are InputErrors", "[partition]") {
  const Labels labels = make_labels(10, 10, 3);
  Rng rng(1, Purpose::kPartition);
  CHECK_THAT(input_error_of([&] { edgesim::partition_iid(labels, 10, 0, rng); }),
             Contains("num_devices must be at least 1, got 0"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_iid(labels, 10, 101, rng); }),
             Contains("101 devices but only 100 samples"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_iid(labels, 5, 2, rng); }),
             Contains("but num_classes is 5"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_dirichlet(labels, 10, 0, 1.0, rng); }),
             Contains("num_devices"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_dirichlet(labels, 10, 2, 0.0, rng); }),
             Contains("alpha must be a positive"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_dirichlet(labels, 10, 2, -1.0, rng); }),
             Contains("alpha must be a positive"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_dirichlet(labels, 10, 2, NAN, rng); }),
             Contains("alpha must be a positive"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_shards(labels, 10, 0, 2, rng); }),
             Contains("num_devices"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_shards(labels, 10, 4, 0, rng); }),
             Contains("shards_per_device must be at least 1, got 0"));
  CHECK_THAT(input_error_of([&] { edgesim::partition_shards(labels, 10, 51, 2, rng); }),
             Contains("102 shards, more than the 100 samples"));
}
