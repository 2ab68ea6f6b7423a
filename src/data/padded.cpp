#include "edgesim/data/padded.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace edgesim {

ImageSet pad_and_repeat(const ImageSet& in, int pad, int channels) {
  if (in.channels != 1) throw std::invalid_argument("pad_and_repeat: expects one-channel images");
  ImageSet out;
  out.count = in.count;
  out.channels = channels;
  out.rows = in.rows + 2 * pad;
  out.cols = in.cols + 2 * pad;
  out.num_classes = in.num_classes;
  out.labels = in.labels;
  const std::size_t plane = std::size_t(out.rows) * out.cols, src_plane = std::size_t(in.rows) * in.cols;
  out.pixels.assign(std::size_t(out.count) * channels * plane, 0);
  for (std::int64_t i = 0; i < in.count; ++i) {
    const std::uint8_t* src = in.pixels.data() + i * src_plane;
    for (int c = 0; c < channels; ++c) {
      std::uint8_t* dst = out.pixels.data() + (std::size_t(i) * channels + c) * plane;
      for (int r = 0; r < in.rows; ++r)
        std::copy(src + std::size_t(r) * in.cols, src + std::size_t(r + 1) * in.cols,
                  dst + std::size_t(r + pad) * out.cols + pad);
    }
  }
  // The padded image's mean and variance from the grey set's: a share `keep` of its pixels are
  // the originals, the rest zeros, so E[x] and E[x²] both scale by `keep`.
  const double keep = double(src_plane) / double(plane), m = in.mean.at(0), s = in.stddev.at(0);
  const double mean = m * keep, var = (s * s + m * m) * keep - mean * mean;
  out.mean.assign(channels, static_cast<float>(mean));
  out.stddev.assign(channels, static_cast<float>(std::sqrt(var)));
  return out;
}

}  // namespace edgesim
