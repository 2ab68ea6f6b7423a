// `fashion-mnist-32`: Fashion-MNIST in CIFAR's shapes — every image padded with 2 black pixels
// on each side to 32x32 and repeated to 3 channels, labels unchanged. Checked on a hand-made
// set and, when Debian's dataset-fashion-mnist is installed, against the real files.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "edgesim/data/dataset.hpp"
#include "edgesim/data/padded.hpp"

using namespace edgesim;

TEST_CASE("fashion-mnist-32: padding and channels on a hand-made set", "[data][padded]") {
  ImageSet grey;
  grey.count = 2, grey.channels = 1, grey.rows = 2, grey.cols = 2;
  grey.pixels = {1, 2, 3, 4, 5, 6, 7, 8};
  grey.labels = {3, 9};
  grey.mean = {0.5f}, grey.stddev = {0.2f};
  const ImageSet out = pad_and_repeat(grey, 1, 3);
  CHECK(out.count == 2);
  CHECK(out.channels == 3);
  CHECK(out.rows == 4);
  CHECK(out.cols == 4);
  CHECK(out.labels == grey.labels);
  REQUIRE(out.pixels.size() == 2u * 3 * 16);
  // Image 1, every channel: a zero border around 5 6 / 7 8.
  const std::vector<std::uint8_t> second = {0, 0, 0, 0, 0, 5, 6, 0, 0, 7, 8, 0, 0, 0, 0, 0};
  for (int c = 0; c < 3; ++c)
    CHECK(std::vector<std::uint8_t>(out.pixels.begin() + (3 + c) * 16, out.pixels.begin() + (4 + c) * 16) == second);
  CHECK(out.pixels[5] == 1);  // image 0, channel 0, row 1, column 1
  // Statistics: a quarter of the pixels are the originals (mean 0.5, E[x²] = 0.29), the rest 0.
  REQUIRE(out.mean.size() == 3);
  CHECK(out.mean[2] == Approx(0.125));
  CHECK(out.stddev[1] == Approx(std::sqrt(0.29 / 4 - 0.125 * 0.125)));
}

TEST_CASE("fashion-mnist-32: the real files, 32x32x3, same labels and pixels as fashion-mnist", "[data][padded]") {
  DataConfig d;
  if (!std::filesystem::exists(d.path + "/train-images-idx3-ubyte.gz")) {
    WARN("dataset-fashion-mnist not installed: skipped");
    return;
  }
  d.train_samples = 64;
  const ImageSet grey = load_image_dataset(d, "train");
  d.dataset = "fashion-mnist-32";
  const ImageSet padded = load_image_dataset(d, "train");
  REQUIRE(padded.count == 64);
  CHECK(padded.channels == 3);
  CHECK(padded.rows == 32);
  CHECK(padded.cols == 32);
  CHECK(padded.labels == grey.labels);
  for (std::int64_t i = 0; i < padded.count; ++i)
    for (int c = 0; c < 3; ++c)
      for (int r = 0; r < 32; ++r)
        for (int col = 0; col < 32; ++col) {
          const std::uint8_t p = padded.pixels[((i * 3 + c) * 32 + r) * 32 + col];
          const bool inside = r >= 2 && r < 30 && col >= 2 && col < 30;
          const std::uint8_t expected = inside ? grey.pixels[(i * 28 + (r - 2)) * 28 + (col - 2)] : 0;
          if (p != expected) FAIL("image " << i << " channel " << c << " pixel (" << r << ", " << col << ")");
        }
  d.test_samples = 10;
  CHECK(load_image_dataset(d, "test").rows == 32);
}
