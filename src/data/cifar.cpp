#include "edgesim/data/cifar.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <system_error>
#include <vector>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

constexpr int kSide = 32;
constexpr int kChannels = 3;
constexpr std::size_t kPixelBytes = kChannels * kSide * kSide;

// What differs between CIFAR-10 and CIFAR-100: the label bytes in front of the pixels.
struct Format {
  std::string name;                      // for messages: "CIFAR-10"
  std::vector<std::string> label_names;  // one per label byte, in file order
  std::vector<int> label_classes;        // valid range of each label byte is 0..classes-1
  std::size_t kept_label;                // which label byte ends up in ImageSet.labels
  std::string contents;                  // what the directory should hold, for missing files
  std::size_t record_bytes() const { return label_names.size() + kPixelBytes; }
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw InputError(path + ": " + what);
}

std::string num(std::uint64_t v) { return std::to_string(v); }

Format cifar10_format() {
  return {"CIFAR-10", {"label"}, {10}, 0,
          "should contain data_batch_1.bin ... data_batch_5.bin and test_batch.bin (the "
          "cifar-10-batches-bin folder of cifar-10-binary.tar.gz)"};
}

Format cifar100_format(bool coarse) {
  return {"CIFAR-100", {"coarse label", "fine label"}, {20, 100}, coarse ? 0u : 1u,
          "should contain train.bin and test.bin (the cifar-100-binary folder of "
          "cifar-100-binary.tar.gz)"};
}

// Appends up to `wanted` records of one batch file to `set`; returns how many it appended.
std::int64_t append_batch(const Format& fmt, const std::string& dir, const std::string& name,
                          std::int64_t wanted, ImageSet& set) {
  const std::string path = (std::filesystem::path(dir) / name).string();
  const std::size_t record = fmt.record_bytes();
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) fail(path, "cannot open: " + ec.message() + "; " + dir + " " + fmt.contents);
  // Check the size before reading anything: a cut download is the common failure, and the
  // whole-file check catches it even when the limit would stop short of the damage.
  if (size == 0) fail(path, "is empty: expected " + fmt.name + " records of " + num(record) +
                                " bytes each");
  if (size % record != 0) {
    const std::uint64_t incomplete = size / record;
    fail(path, "size " + num(size) + " bytes is not a multiple of the " + num(record) +
                   "-byte " + fmt.name + " record size: record " + num(incomplete) +
                   " at byte " + num(incomplete * record) + " is incomplete (" +
                   num(size % record) + " of " + num(record) + " bytes)");
  }
  const std::int64_t records =
      static_cast<std::int64_t>(std::min<std::uintmax_t>(size / record, wanted));

  struct Closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  std::unique_ptr<std::FILE, Closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> bytes(records * record);
  const std::size_t got = std::fread(bytes.data(), 1, bytes.size(), file.get());
  if (got != bytes.size()) {
    if (std::ferror(file.get())) fail(path, std::string("cannot read: ") + std::strerror(errno));
    fail(path, "ends at byte " + num(got) + " although its size was " + num(size) +
                   " bytes (did it change while being read?)");
  }

  set.pixels.reserve(set.pixels.size() + records * kPixelBytes);
  set.labels.reserve(set.labels.size() + records);
  for (std::int64_t r = 0; r < records; ++r) {
    const std::uint8_t* rec = bytes.data() + r * record;
    for (std::size_t j = 0; j < fmt.label_names.size(); ++j) {
      if (rec[j] >= fmt.label_classes[j]) {
        fail(path, fmt.label_names[j] + " " + num(rec[j]) + " of record " + num(r) +
                       " at byte " + num(r * record + j) + " is outside 0.." +
                       num(fmt.label_classes[j] - 1));
      }
    }
    set.labels.push_back(rec[fmt.kept_label]);
    set.pixels.insert(set.pixels.end(), rec + fmt.label_names.size(), rec + record);
  }
  return records;
}

ImageSet load(const Format& fmt, const std::string& dir, const std::string& split,
              std::int64_t limit, const std::vector<std::string>& train_files,
              const std::string& test_file) {
  if (split != "train" && split != "test") {
    throw InputError(fmt.name + " split must be 'train' or 'test', got '" + split + "'");
  }
  if (limit < 0) {
    throw InputError(fmt.name + " sample limit must be >= 0, got " + std::to_string(limit));
  }
  ImageSet set;
  set.channels = kChannels;
  set.rows = set.cols = kSide;
  set.num_classes = fmt.label_classes[fmt.kept_label];
  const std::int64_t wanted = limit > 0 ? limit : std::numeric_limits<std::int64_t>::max();
  const std::vector<std::string> files =
      split == "train" ? train_files : std::vector<std::string>{test_file};
  for (const std::string& name : files) {
    if (set.count == wanted) break;
    set.count += append_batch(fmt, dir, name, wanted - set.count, set);
  }
  return set;
}

}  // namespace

ImageSet load_cifar10(const std::string& dir, const std::string& split, std::int64_t limit) {
  return load(cifar10_format(), dir, split, limit,
              {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
               "data_batch_5.bin"},
              "test_batch.bin");
}

ImageSet load_cifar100(const std::string& dir, const std::string& split, std::int64_t limit,
                       bool coarse) {
  return load(cifar100_format(coarse), dir, split, limit, {"train.bin"}, "test.bin");
}

}  // namespace edgesim
