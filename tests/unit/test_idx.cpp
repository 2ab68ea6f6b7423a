#include <zlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "edgesim/common/error.hpp"
#include "edgesim/common/rng.hpp"
#include "edgesim/data/idx.hpp"
#include "test_support.hpp"

using Catch::Matchers::Contains;
using namespace edgesim::test_support;
using Bytes = std::vector<std::uint8_t>;

namespace {

const char* const kFashionDir = "/usr/share/datasets/fashion-mnist";

Bytes idx_bytes(const std::vector<std::uint32_t>& dims, const Bytes& data) {
  Bytes out = {0, 0, 0x08, static_cast<std::uint8_t>(dims.size())};
  for (std::uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back((d >> shift) & 0xff);
  }
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// Noise compresses poorly, so cutting the .gz in half really loses payload.
Bytes noise(std::size_t n, std::uint64_t seed = 7) {
  edgesim::Rng rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<std::uint8_t>(rng.below(256));
  return out;
}

void write_gz(const std::string& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  if (!bytes.empty()) REQUIRE(gzwrite(f, bytes.data(), bytes.size()) == int(bytes.size()));
  REQUIRE(gzclose(f) == Z_OK);
}

Bytes read_raw(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A Fashion-MNIST-shaped split in `dir` with n images and the given labels.
void write_fashion(const TempDir& dir, const std::string& prefix, std::uint32_t n,
                   const Bytes& labels, std::vector<std::uint32_t> image_dims = {}) {
  if (image_dims.empty()) image_dims = {n, 28, 28};
  std::size_t pixels = 1;
  for (auto d : image_dims) pixels *= d;
  write_gz(dir.file(prefix + "-images-idx3-ubyte.gz"), idx_bytes(image_dims, noise(pixels)));
  write_gz(dir.file(prefix + "-labels-idx1-ubyte.gz"),
           idx_bytes({static_cast<std::uint32_t>(labels.size())}, labels));
}

}  // namespace

TEST_CASE("read_idx reads plain and gzip'd IDX files", "[idx]") {
  TempDir dir;
  const Bytes pixels = noise(3 * 4 * 5);
  const Bytes file = idx_bytes({3, 4, 5}, pixels);
  write_bytes(dir.file("a.idx"), file);
  write_gz(dir.file("a.idx.gz"), file);

  for (const auto& name : {"a.idx", "a.idx.gz"}) {
    const edgesim::IdxArray arr = edgesim::read_idx(dir.file(name));
    CHECK(arr.dims == std::vector<std::int64_t>{3, 4, 5});
    CHECK(arr.data == pixels);
  }
  CHECK(edgesim::read_maybe_gzip(dir.file("a.idx")) == file);
  CHECK(edgesim::read_maybe_gzip(dir.file("a.idx.gz")) == file);
}

TEST_CASE("read_maybe_gzip accepts concatenated gzip members", "[idx]") {
  TempDir dir;
  write_gz(dir.file("a.gz"), {1, 2, 3});
  write_gz(dir.file("b.gz"), {4, 5});
  Bytes both = read_raw(dir.file("a.gz"));
  const Bytes second = read_raw(dir.file("b.gz"));
  both.insert(both.end(), second.begin(), second.end());
  write_bytes(dir.file("ab.gz"), both);
  CHECK(edgesim::read_maybe_gzip(dir.file("ab.gz")) == Bytes{1, 2, 3, 4, 5});
}

TEST_CASE("a missing file is an InputError naming it", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("nope.gz");
  const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
  CHECK_THAT(msg, Contains(path) && Contains("cannot open"));
}

TEST_CASE("a cut gzip stream is reported as truncated", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("cut.gz");
  write_gz(path, idx_bytes({10, 28, 28}, noise(10 * 28 * 28)));
  Bytes gz = read_raw(path);
  gz.resize(gz.size() / 2);
  write_bytes(path, gz);

  const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
  CHECK_THAT(msg, Contains(path) && Contains("truncated at byte ") &&
                      Contains("of the decompressed data"));
}

TEST_CASE("a valid gzip of a short payload names the offset and the expected size", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("short.gz");
  write_gz(path, idx_bytes({3, 28, 28}, noise(2000)));
  const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
  CHECK(msg == path + ": truncated at byte 2016 of the decompressed data: header promises 2352 "
                      "bytes of data (3 x 28 x 28) after the 16-byte header");

  SECTION("plain files give offsets without 'decompressed'") {
    const std::string plain = dir.file("short.idx");
    write_bytes(plain, idx_bytes({3, 28, 28}, noise(2000)));
    const std::string msg2 = input_error_of([&] { edgesim::read_idx(plain); });
    CHECK_THAT(msg2, Contains(plain) && Contains("truncated at byte 2016:"));
  }
}

TEST_CASE("a header cut inside the dimensions is truncated too", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("hdr.gz");
  Bytes file = idx_bytes({3, 28, 28}, {});
  file.resize(9);
  write_gz(path, file);
  const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
  CHECK_THAT(msg, Contains(path) && Contains("truncated at byte 9 of the decompressed data") &&
                      Contains("16-byte header"));

  write_gz(path, {});
  CHECK_THAT(input_error_of([&] { edgesim::read_idx(path); }),
             Contains(path) && Contains("truncated at byte 0"));
}

TEST_CASE("trailing garbage is an error", "[idx]") {
  TempDir dir;
  SECTION("after the IDX payload") {
    const std::string path = dir.file("trail.gz");
    write_gz(path, idx_bytes({2}, {1, 2, 3}));
    const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
    CHECK_THAT(msg, Contains(path) && Contains("1 bytes of trailing garbage at byte 10"));
  }
  SECTION("after the gzip stream") {
    const std::string path = dir.file("trail2.gz");
    write_gz(path, idx_bytes({2}, {1, 2}));
    Bytes gz = read_raw(path);
    gz.push_back('x');
    write_bytes(path, gz);
    const std::string msg = input_error_of([&] { edgesim::read_idx(path); });
    CHECK_THAT(msg, Contains(path) && Contains("trailing garbage after the gzip stream"));
  }
}

TEST_CASE("a wrong magic number names the file, offset 0 and what was expected", "[idx]") {
  TempDir dir;
  const std::string plain = dir.file("text.idx");
  write_bytes(plain, {'h', 'e', 'l', 'l', 'o'});
  CHECK(input_error_of([&] { edgesim::read_idx(plain); }) ==
        plain + ": bad magic number at byte 0: expected an IDX header 00 00 08 <number of dims>, "
                "found 68 65 6c 6c");

  const std::string gz = dir.file("text.gz");
  write_gz(gz, {1, 0, 8, 1, 0, 0, 0, 0});
  CHECK_THAT(input_error_of([&] { edgesim::read_idx(gz); }),
             Contains(gz) && Contains("bad magic number at byte 0 of the decompressed data"));
}

TEST_CASE("element types other than unsigned byte are rejected", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("float.idx");
  Bytes file = idx_bytes({1}, {0, 0, 0, 0});
  file[2] = 0x0d;
  write_bytes(path, file);
  CHECK_THAT(input_error_of([&] { edgesim::read_idx(path); }),
             Contains(path) && Contains("0x0d (float32)") && Contains("only 0x08"));
}

TEST_CASE("negative dimensions are rejected", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("neg.idx");
  write_bytes(path, idx_bytes({2, 0xfffffffe}, {}));
  CHECK_THAT(input_error_of([&] { edgesim::read_idx(path); }),
             Contains(path) && Contains("dimension 1 at byte 8 is negative (-2)"));
}

TEST_CASE("corrupt gzip bytes are an InputError naming the file", "[idx]") {
  TempDir dir;
  const std::string path = dir.file("bad.gz");
  write_gz(path, idx_bytes({100}, noise(100)));
  const Bytes good = read_raw(path);

  SECTION("invalid deflate block") {
    Bytes gz = good;
    gz[10] = 0xff;  // first deflate block header: BTYPE 11 is reserved
    write_bytes(path, gz);
    CHECK(input_error_of([&] { edgesim::read_idx(path); }) ==
          path + ": corrupt gzip data at byte 0 of the decompressed data (zlib: invalid block "
                 "type)");
  }
  SECTION("bad CRC in the trailer") {
    Bytes gz = good;
    gz[gz.size() - 8] ^= 0x55;
    write_bytes(path, gz);
    CHECK_THAT(input_error_of([&] { edgesim::read_idx(path); }),
               Contains(path) && Contains("corrupt gzip data at byte 108 of the decompressed"));
  }
}

TEST_CASE("load_fashion_mnist reads a split and honours limit", "[idx]") {
  TempDir dir;
  const Bytes labels = {3, 1, 4, 1, 5};
  write_fashion(dir, "t10k", 5, labels);
  const Bytes pixels = noise(5 * 28 * 28);

  const edgesim::ImageSet all = edgesim::load_fashion_mnist(dir.path.string(), "test");
  CHECK(all.count == 5);
  CHECK(all.channels == 1);
  CHECK(all.rows == 28);
  CHECK(all.cols == 28);
  CHECK(all.num_classes == 10);
  CHECK(all.labels == labels);
  CHECK(all.pixels == pixels);

  const edgesim::ImageSet some = edgesim::load_fashion_mnist(dir.path.string(), "test", 2);
  CHECK(some.count == 2);
  CHECK(some.labels == Bytes{3, 1});
  CHECK(some.pixels == Bytes(pixels.begin(), pixels.begin() + 2 * 28 * 28));

  CHECK(edgesim::load_fashion_mnist(dir.path.string(), "test", 50).count == 5);
}

TEST_CASE("load_fashion_mnist checks shapes, counts and labels", "[idx]") {
  TempDir dir;
  const std::string images = dir.file("train-images-idx3-ubyte.gz");
  const std::string labels = dir.file("train-labels-idx1-ubyte.gz");
  const std::string d = dir.path.string();

  SECTION("label count mismatch") {
    write_fashion(dir, "train", 5, {0, 1, 2, 3});
    CHECK(input_error_of([&] { edgesim::load_fashion_mnist(d, "train"); }) ==
          labels + ": header at byte 4 of the decompressed data declares 4 labels, but " +
              images + " holds 5 images");
  }
  SECTION("label out of range") {
    write_fashion(dir, "train", 4, {0, 9, 10, 11});
    CHECK(input_error_of([&] { edgesim::load_fashion_mnist(d, "train", 1); }) ==
          labels + ": label 10 of sample 2 at byte 10 of the decompressed data is outside 0..9");
  }
  SECTION("images not 28 x 28") {
    write_fashion(dir, "train", 2, {0, 1}, {2, 28, 27});
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "train"); }),
               Contains(images) && Contains("N x 28 x 28") && Contains("2 x 28 x 27"));
  }
  SECTION("images not 3-D") {
    write_fashion(dir, "train", 2, {0, 1}, {2, 784});
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "train"); }),
               Contains(images) && Contains("declares 2 x 784"));
  }
  SECTION("labels not 1-D") {
    write_gz(images, idx_bytes({2, 28, 28}, noise(2 * 28 * 28)));
    write_gz(labels, idx_bytes({2, 1}, {0, 1}));
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "train"); }),
               Contains(labels) && Contains("1-D"));
  }
  SECTION("missing labels file") {
    write_gz(images, idx_bytes({2, 28, 28}, noise(2 * 28 * 28)));
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "train"); }),
               Contains(labels) && Contains("cannot open"));
  }
  SECTION("unknown split and negative limit") {
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "validation"); }),
               Contains("'validation'"));
    CHECK_THAT(input_error_of([&] { edgesim::load_fashion_mnist(d, "train", -1); }),
               Contains("limit"));
  }
}

TEST_CASE("the installed Fashion-MNIST files load", "[idx][fashion-mnist]") {
  const edgesim::ImageSet train = edgesim::load_fashion_mnist(kFashionDir, "train");
  CHECK(train.count == 60000);
  CHECK(train.rows == 28);
  CHECK(train.cols == 28);
  CHECK(train.pixels.size() == 60000u * 28 * 28);
  REQUIRE(train.labels.size() == 60000u);
  std::vector<int> per_class(10, 0);
  for (std::uint8_t l : train.labels) ++per_class.at(l);
  CHECK(per_class == std::vector<int>(10, 6000));
  // Real images: not all black, and some pixels saturate.
  CHECK(*std::max_element(train.pixels.begin(), train.pixels.end()) == 255);

  const edgesim::ImageSet test = edgesim::load_fashion_mnist(kFashionDir, "test");
  CHECK(test.count == 10000);
  CHECK(test.pixels.size() == 10000u * 28 * 28);
  REQUIRE(test.labels.size() == 10000u);
  CHECK(std::all_of(test.labels.begin(), test.labels.end(), [](auto l) { return l < 10; }));
}
