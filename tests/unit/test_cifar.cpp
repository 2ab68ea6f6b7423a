#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/data/cifar.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using namespace edgesim::test_support;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::size_t kPixels = 3 * 32 * 32;

// Pixel (channel c, row y, column x) of sample `id`: distinct enough across all four
// coordinates that a transposed or mis-strided copy cannot match by accident.
std::uint8_t pixel(int id, int c, int y, int x) {
  return static_cast<std::uint8_t>(id * 31 + c * 101 + y * 7 + x * 3);
}

// One record as the CIFAR binary files store it: label byte(s), then R, G and B planes.
Bytes record(const Bytes& labels, int id) {
  Bytes out = labels;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) out.push_back(pixel(id, c, y, x));
    }
  }
  return out;
}

// A CIFAR-10 batch of records with the given labels; sample ids start at first_id.
void write_batch10(const std::string& path, const Bytes& labels, int first_id) {
  Bytes bytes;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const Bytes r = record({labels[i]}, first_id + int(i));
    bytes.insert(bytes.end(), r.begin(), r.end());
  }
  write_bytes(path, bytes);
}

// Checks sample n of `set` is record `id`, pixel by pixel through the N x C x H x W index.
void check_sample(const edgesim::ImageSet& set, std::int64_t n, int id) {
  INFO("sample " << n << " should be record " << id);
  int wrong = 0;
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        wrong += set.pixels.at(((n * 3 + c) * 32 + y) * 32 + x) != pixel(id, c, y, x);
      }
    }
  }
  CHECK(wrong == 0);
}

// Train batches of 2, 3, 1, 2 and 2 records (ids 0..9) and a test batch of 3 (ids 100..102).
void write_cifar10(const TempDir& dir) {
  const std::vector<Bytes> batches = {{0, 1}, {2, 3, 4}, {5}, {6, 7}, {8, 9}};
  int id = 0;
  for (std::size_t b = 0; b < batches.size(); ++b) {
    write_batch10(dir.file("data_batch_" + std::to_string(b + 1) + ".bin"), batches[b], id);
    id += int(batches[b].size());
  }
  write_batch10(dir.file("test_batch.bin"), {9, 0, 4}, 100);
}

}  // namespace

TEST_CASE("load_cifar10 concatenates the five train batches in order", "[cifar]") {
  TempDir dir;
  write_cifar10(dir);
  const edgesim::ImageSet train = edgesim::load_cifar10(dir.path.string(), "train");
  CHECK(train.count == 10);
  CHECK(train.channels == 3);
  CHECK(train.rows == 32);
  CHECK(train.cols == 32);
  CHECK(train.num_classes == 10);
  CHECK(train.labels == Bytes{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  REQUIRE(train.pixels.size() == 10 * kPixels);
  for (int n = 0; n < 10; ++n) check_sample(train, n, n);

  const edgesim::ImageSet test = edgesim::load_cifar10(dir.path.string(), "test");
  CHECK(test.count == 3);
  CHECK(test.labels == Bytes{9, 0, 4});
  REQUIRE(test.pixels.size() == 3 * kPixels);
  for (int n = 0; n < 3; ++n) check_sample(test, n, 100 + n);
}

TEST_CASE("load_cifar10's limit spans batches and opens no more files than needed",
          "[cifar]") {
  TempDir dir;
  write_cifar10(dir);
  const std::string d = dir.path.string();

  const edgesim::ImageSet four = edgesim::load_cifar10(d, "train", 4);
  CHECK(four.count == 4);
  CHECK(four.labels == Bytes{0, 1, 2, 3});
  REQUIRE(four.pixels.size() == 4 * kPixels);
  check_sample(four, 3, 3);
  CHECK(edgesim::load_cifar10(d, "train", 50).count == 10);
  CHECK(edgesim::load_cifar10(d, "test", 1).labels == Bytes{9});

  // Batches 3..5 gone: limits met by batches 1 and 2 still load, larger ones name batch 3.
  std::filesystem::remove(dir.file("data_batch_3.bin"));
  std::filesystem::remove(dir.file("data_batch_4.bin"));
  std::filesystem::remove(dir.file("data_batch_5.bin"));
  CHECK(edgesim::load_cifar10(d, "train", 2).count == 2);
  CHECK(edgesim::load_cifar10(d, "train", 5).count == 5);
  CHECK_THAT(input_error_of([&] { edgesim::load_cifar10(d, "train", 6); }),
             Contains(dir.file("data_batch_3.bin")) && Contains("cannot open"));
}

TEST_CASE("a CIFAR file cut inside a record names its size and the incomplete record",
          "[cifar]") {
  TempDir dir;
  write_cifar10(dir);
  const std::string path = dir.file("data_batch_2.bin");
  std::filesystem::resize_file(path, 2 * 3073 + 100);
  // Even a limit that stops before the damage reports it: the size check is whole-file.
  CHECK(input_error_of([&] { edgesim::load_cifar10(dir.path.string(), "train", 3); }) ==
        path + ": size 6246 bytes is not a multiple of the 3073-byte CIFAR-10 record size: "
               "record 2 at byte 6146 is incomplete (100 of 3073 bytes)");

  std::filesystem::resize_file(path, 0);
  CHECK_THAT(input_error_of([&] { edgesim::load_cifar10(dir.path.string(), "train"); }),
             Contains(path) && Contains("is empty"));
}

TEST_CASE("a CIFAR-10 label above 9 names the file, record and byte", "[cifar]") {
  TempDir dir;
  write_cifar10(dir);
  const std::string path = dir.file("data_batch_2.bin");
  write_batch10(path, {2, 10, 4}, 2);
  CHECK(input_error_of([&] { edgesim::load_cifar10(dir.path.string(), "train"); }) ==
        path + ": label 10 of record 1 at byte 3073 is outside 0..9");
  // Records past the limit are never read, so they are not checked either.
  CHECK(edgesim::load_cifar10(dir.path.string(), "train", 3).count == 3);
}

TEST_CASE("a missing CIFAR file says what the directory should contain", "[cifar]") {
  TempDir dir;
  const std::string msg =
      input_error_of([&] { edgesim::load_cifar10(dir.path.string(), "test"); });
  CHECK(msg == dir.file("test_batch.bin") + ": cannot open: No such file or directory; " +
                   dir.path.string() +
                   " should contain data_batch_1.bin ... data_batch_5.bin and test_batch.bin "
                   "(the cifar-10-batches-bin folder of cifar-10-binary.tar.gz)");
  CHECK_THAT(input_error_of([&] { edgesim::load_cifar100(dir.path.string(), "train"); }),
             Contains(dir.file("train.bin")) && Contains("train.bin and test.bin") &&
                 Contains("cifar-100-binary"));
}

TEST_CASE("load_cifar checks split and limit", "[cifar]") {
  CHECK_THAT(input_error_of([] { edgesim::load_cifar10("/nonexistent", "valid"); }),
             Contains("CIFAR-10 split must be 'train' or 'test', got 'valid'"));
  CHECK_THAT(input_error_of([] { edgesim::load_cifar100("/nonexistent", "train", -1); }),
             Contains("CIFAR-100 sample limit must be >= 0, got -1"));
}

TEST_CASE("load_cifar100 returns fine labels, or coarse ones on request", "[cifar]") {
  TempDir dir;
  // (coarse, fine) pairs; ids 0..3 for train, 50.. for test.
  const std::vector<Bytes> train_labels = {{4, 30}, {19, 99}, {0, 0}, {7, 55}};
  Bytes train;
  for (std::size_t i = 0; i < train_labels.size(); ++i) {
    const Bytes r = record(train_labels[i], int(i));
    train.insert(train.end(), r.begin(), r.end());
  }
  write_bytes(dir.file("train.bin"), train);
  write_bytes(dir.file("test.bin"), record({3, 12}, 50));
  const std::string d = dir.path.string();

  const edgesim::ImageSet fine = edgesim::load_cifar100(d, "train");
  CHECK(fine.count == 4);
  CHECK(fine.num_classes == 100);
  CHECK(fine.labels == Bytes{30, 99, 0, 55});
  REQUIRE(fine.pixels.size() == 4 * kPixels);
  for (int n = 0; n < 4; ++n) check_sample(fine, n, n);

  const edgesim::ImageSet coarse = edgesim::load_cifar100(d, "train", 3, true);
  CHECK(coarse.count == 3);
  CHECK(coarse.num_classes == 20);
  CHECK(coarse.labels == Bytes{4, 19, 0});
  CHECK(coarse.pixels == Bytes(fine.pixels.begin(), fine.pixels.begin() + 3 * kPixels));

  const edgesim::ImageSet test = edgesim::load_cifar100(d, "test");
  CHECK(test.labels == Bytes{12});
  check_sample(test, 0, 50);

  SECTION("both label bytes are range-checked whichever one is kept") {
    const std::string path = dir.file("test.bin");
    Bytes bad = record({3, 12}, 50);
    const Bytes bad_fine = record({3, 100}, 51), bad_coarse = record({20, 5}, 52);
    bad.insert(bad.end(), bad_fine.begin(), bad_fine.end());
    write_bytes(path, bad);
    CHECK(input_error_of([&] { edgesim::load_cifar100(d, "test", 0, true); }) ==
          path + ": fine label 100 of record 1 at byte 3075 is outside 0..99");
    write_bytes(path, bad_coarse);
    CHECK(input_error_of([&] { edgesim::load_cifar100(d, "test"); }) ==
          path + ": coarse label 20 of record 0 at byte 0 is outside 0..19");
  }
  SECTION("the record size is 3074 bytes") {
    std::filesystem::resize_file(dir.file("train.bin"), 3073);
    CHECK_THAT(input_error_of([&] { edgesim::load_cifar100(d, "train"); }),
               Contains("size 3073 bytes is not a multiple of the 3074-byte CIFAR-100 record "
                        "size: record 0 at byte 0 is incomplete (3073 of 3074 bytes)"));
  }
}
