#include "edgesim/data/idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

constexpr int kFashionSide = 28;
constexpr int kFashionClasses = 10;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

// Offsets in messages refer to the decompressed stream when the file was gzip'd; saying so
// stops people from looking for the problem with a hex editor on the .gz file.
std::string at_byte(std::uint64_t offset, bool gzipped) {
  return "byte " + std::to_string(offset) + (gzipped ? " of the decompressed data" : "");
}

std::string hex_bytes(const std::uint8_t* p, std::size_t n) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    out += (i ? " " : "") + std::string(buf);
  }
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string out;
  for (std::size_t i = 0; i < dims.size(); ++i) out += (i ? " x " : "") + std::to_string(dims[i]);
  return dims.empty() ? "scalar" : out;
}

bool has_gzip_magic(const std::vector<std::uint8_t>& bytes, std::size_t at = 0) {
  return bytes.size() >= at + 2 && bytes[at] == 0x1f && bytes[at + 1] == 0x8b;
}

std::vector<std::uint8_t> read_whole_file(const std::string& path) {
  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  // Read in growing chunks rather than trusting a stat size: works for pipes and /proc too.
  std::vector<std::uint8_t> bytes;
  std::size_t used = 0;
  for (;;) {
    if (used == bytes.size()) bytes.resize(std::max<std::size_t>(1 << 20, 2 * bytes.size()));
    const std::size_t wanted = bytes.size() - used;
    const std::size_t got = std::fread(bytes.data() + used, 1, wanted, file.get());
    used += got;
    if (got < wanted) break;
  }
  if (std::ferror(file.get())) fail(path, std::string("cannot read: ") + std::strerror(errno));
  bytes.resize(used);
  return bytes;
}

std::vector<std::uint8_t> gunzip(const std::string& path, const std::vector<std::uint8_t>& in) {
  z_stream zs{};
  // 16 + MAX_WBITS: accept the gzip wrapper only (we got here because of the gzip magic).
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  struct Ender {
    z_stream* zs;
    ~Ender() { inflateEnd(zs); }
  } ender{&zs};

  // The gzip trailer stores the size mod 2^32; deflate never expands more than ~1032x, so a
  // hint above that is corruption and must not drive a huge allocation.
  std::uint64_t hint = 0;
  if (in.size() >= 4) {
    const std::uint8_t* t = in.data() + in.size() - 4;
    hint = t[0] | (t[1] << 8) | (t[2] << 16) | (std::uint64_t{t[3]} << 24);
  }
  hint = std::min<std::uint64_t>(hint, 1032 * std::uint64_t{in.size()});
  std::vector<std::uint8_t> out(std::max<std::uint64_t>(hint, 1 << 16));

  // zlib counts in 32-bit uInt, so feed and drain in chunks to handle files over 4 GiB.
  constexpr std::size_t kChunk = 1u << 30;
  std::size_t fed = 0, produced = 0;
  for (;;) {
    if (zs.avail_in == 0 && fed < in.size()) {
      zs.next_in = const_cast<Bytef*>(in.data() + fed);
      zs.avail_in = static_cast<uInt>(std::min(kChunk, in.size() - fed));
      fed += zs.avail_in;
    }
    if (produced == out.size()) out.resize(2 * out.size());
    zs.next_out = out.data() + produced;
    zs.avail_out = static_cast<uInt>(std::min(kChunk, out.size() - produced));
    const uInt room = zs.avail_out;
    const int rc = inflate(&zs, Z_NO_FLUSH);
    produced += room - zs.avail_out;
    const std::size_t consumed = fed - zs.avail_in;

    if (rc == Z_STREAM_END) {
      if (consumed == in.size()) break;
      // Concatenated gzip members are valid gzip (what `cat a.gz b.gz` produces).
      if (has_gzip_magic(in, consumed)) {
        inflateReset(&zs);
        continue;
      }
      fail(path, std::to_string(in.size() - consumed) +
                     " bytes of trailing garbage after the gzip stream, starting at byte " +
                     std::to_string(consumed) + " of the compressed file (" +
                     std::to_string(produced) + " bytes decompressed fine before it)");
    }
    if (rc == Z_DATA_ERROR || rc == Z_NEED_DICT) {
      fail(path, "corrupt gzip data at " + at_byte(produced, true) + " (zlib: " +
                     (zs.msg ? zs.msg : "data error") + ")");
    }
    if (rc == Z_MEM_ERROR) throw std::bad_alloc();
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::logic_error("inflate: unexpected zlib state");
    // Output room left and no stream end means inflate ran out of input.
    if (zs.avail_out > 0 && consumed == in.size()) {
      fail(path, "gzip stream truncated at " + at_byte(produced, true) +
                     ": the compressed file ends after " + std::to_string(in.size()) +
                     " bytes without the gzip end-of-stream trailer");
    }
  }
  out.resize(produced);
  out.shrink_to_fit();
  return out;
}

struct FileBytes {
  std::vector<std::uint8_t> bytes;
  bool gzipped = false;
};

FileBytes read_file_bytes(const std::string& path) {
  FileBytes file{read_whole_file(path), false};
  if (has_gzip_magic(file.bytes)) {
    file.bytes = gunzip(path, file.bytes);
    file.gzipped = true;
  }
  return file;
}

const char* idx_type_name(std::uint8_t code) {
  switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0b: return "int16";
    case 0x0c: return "int32";
    case 0x0d: return "float32";
    case 0x0e: return "float64";
    default: return "not a valid IDX type";
  }
}

IdxArray parse_idx(const std::string& path, FileBytes file) {
  std::vector<std::uint8_t>& b = file.bytes;
  const bool gz = file.gzipped;
  // Check the magic on whatever is there first: "not an IDX file" is the more useful
  // message for a short file of the wrong kind.
  const std::size_t magic_len = std::min<std::size_t>(b.size(), 4);
  if ((b.size() >= 1 && b[0] != 0) || (b.size() >= 2 && b[1] != 0)) {
    fail(path, "bad magic number at " + at_byte(0, gz) +
                   ": expected an IDX header 00 00 08 <number of dims>, found " +
                   hex_bytes(b.data(), magic_len));
  }
  if (b.size() < 4) {
    fail(path, "truncated at " + at_byte(b.size(), gz) +
                   ": an IDX header needs at least 4 bytes (00 00 <type> <number of dims>)");
  }
  if (b[2] != 0x08) {
    char code[8];
    std::snprintf(code, sizeof code, "0x%02x", b[2]);
    fail(path, std::string("unsupported IDX element type ") + code + " (" + idx_type_name(b[2]) +
                   ") at " + at_byte(2, gz) + ": only 0x08 (unsigned byte) is supported");
  }
  const std::size_t ndims = b[3];
  const std::size_t header = 4 + 4 * ndims;
  if (b.size() < header) {
    fail(path, "truncated at " + at_byte(b.size(), gz) + ": header declares " +
                   std::to_string(ndims) + " dimensions, which need a " +
                   std::to_string(header) + "-byte header");
  }

  IdxArray arr;
  std::uint64_t total = 1;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::uint8_t* p = b.data() + 4 + 4 * i;
    const std::uint32_t raw = (std::uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    if (raw > std::uint32_t{std::numeric_limits<std::int32_t>::max()}) {
      fail(path, "dimension " + std::to_string(i) + " at " + at_byte(4 + 4 * i, gz) +
                     " is negative (" + std::to_string(static_cast<std::int32_t>(raw)) + ")");
    }
    if (raw != 0 && total > std::uint64_t{std::numeric_limits<std::int64_t>::max()} / raw) {
      fail(path, "dimensions at " + at_byte(4, gz) + " describe more than 2^63 elements");
    }
    total *= raw;
    arr.dims.push_back(raw);
  }

  const std::uint64_t end = header + total;
  if (b.size() < end) {
    fail(path, "truncated at " + at_byte(b.size(), gz) + ": header promises " +
                   std::to_string(total) + " bytes of data (" + shape_text(arr.dims) +
                   ") after the " + std::to_string(header) + "-byte header");
  }
  if (b.size() > end) {
    fail(path, std::to_string(b.size() - end) + " bytes of trailing garbage at " +
                   at_byte(end, gz) + ": header (" + shape_text(arr.dims) +
                   ") says the data ends there");
  }
  b.erase(b.begin(), b.begin() + header);
  arr.data = std::move(b);
  return arr;
}

}  // namespace

std::vector<std::uint8_t> read_maybe_gzip(const std::string& path) {
  return read_file_bytes(path).bytes;
}

IdxArray read_idx(const std::string& path) { return parse_idx(path, read_file_bytes(path)); }

ImageSet load_fashion_mnist(const std::string& dir, const std::string& split,
                            std::int64_t limit) {
  if (split != "train" && split != "test") {
    throw InputError("Fashion-MNIST split must be 'train' or 'test', got '" + split + "'");
  }
  if (limit < 0) throw InputError("Fashion-MNIST sample limit must be >= 0, got " +
                                  std::to_string(limit));
  const std::string prefix = split == "train" ? "train" : "t10k";
  const std::string images_path =
      (std::filesystem::path(dir) / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels_path =
      (std::filesystem::path(dir) / (prefix + "-labels-idx1-ubyte.gz")).string();

  FileBytes image_file = read_file_bytes(images_path);
  const bool images_gz = image_file.gzipped;
  IdxArray images = parse_idx(images_path, std::move(image_file));
  if (images.dims.size() != 3 || images.dims[1] != kFashionSide ||
      images.dims[2] != kFashionSide) {
    fail(images_path, "expected images of shape N x 28 x 28, but the header at " +
                          at_byte(3, images_gz) + " declares " + shape_text(images.dims));
  }
  FileBytes label_file = read_file_bytes(labels_path);
  const bool labels_gz = label_file.gzipped;
  IdxArray labels = parse_idx(labels_path, std::move(label_file));
  if (labels.dims.size() != 1) {
    fail(labels_path, "expected a 1-D array of labels, but the header at " +
                          at_byte(3, labels_gz) + " declares " + shape_text(labels.dims));
  }
  if (labels.dims[0] != images.dims[0]) {
    fail(labels_path, "header at " + at_byte(4, labels_gz) + " declares " +
                          std::to_string(labels.dims[0]) + " labels, but " + images_path +
                          " holds " + std::to_string(images.dims[0]) + " images");
  }
  // Check every label, not just the kept ones: a bad label anywhere means a damaged file.
  const auto bad = std::find_if(labels.data.begin(), labels.data.end(),
                                [](std::uint8_t l) { return l >= kFashionClasses; });
  if (bad != labels.data.end()) {
    const std::size_t sample = bad - labels.data.begin();
    fail(labels_path, "label " + std::to_string(*bad) + " of sample " + std::to_string(sample) +
                          " at " + at_byte(8 + sample, labels_gz) + " is outside 0..9");
  }

  ImageSet set;
  set.count = limit > 0 ? std::min(limit, images.dims[0]) : images.dims[0];
  set.channels = 1;
  set.rows = set.cols = kFashionSide;
  set.num_classes = kFashionClasses;
  set.pixels = std::move(images.data);
  set.labels = std::move(labels.data);
  if (set.count < images.dims[0]) {
    set.pixels.resize(set.count * kFashionSide * kFashionSide);
    set.pixels.shrink_to_fit();
    set.labels.resize(set.count);
    set.labels.shrink_to_fit();
  }
  return set;
}

}  // namespace edgesim
