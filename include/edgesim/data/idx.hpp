#pragma once
// Image datasets read straight from their published files. Fashion-MNIST comes as gzip'd
// IDX files (Debian's dataset-fashion-mnist). Every header field is checked: a wrong magic
// number, a truncated payload or images and labels that disagree raise InputError naming the
// file and the byte offset (in the decompressed stream) where the problem was found.
#include <cstdint>
#include <string>
#include <vector>

namespace edgesim {

// Images stored as raw bytes (N x channels x rows x cols, row-major) plus one label each.
struct ImageSet {
  std::int64_t count = 0;
  int channels = 1, rows = 0, cols = 0;
  int num_classes = 10;
  std::vector<std::uint8_t> pixels;
  std::vector<std::uint8_t> labels;
  // Per-channel statistics of pixel / 255, for normalising (Fashion-MNIST's by default).
  std::vector<float> mean{0.2860f}, stddev{0.3530f};
};

// A decoded IDX array: dims as in the header, data as unsigned bytes (type code 0x08 only).
struct IdxArray {
  std::vector<std::int64_t> dims;
  std::vector<std::uint8_t> data;
};

// Whole file, gunzipped when it starts with the gzip magic, else read as is.
std::vector<std::uint8_t> read_maybe_gzip(const std::string& path);
IdxArray read_idx(const std::string& path);

// split is "train" or "test"; files are <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz.
// limit > 0 keeps the first `limit` samples (for tests and quick runs).
ImageSet load_fashion_mnist(const std::string& dir, const std::string& split,
                            std::int64_t limit = 0);

}  // namespace edgesim
