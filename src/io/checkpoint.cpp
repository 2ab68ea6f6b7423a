#include "edgesim/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

constexpr char kMagic[8] = {'E', 'S', 'C', 'K', 'P', 'T', '0', '1'};

class Writer {
 public:
  template <class T>
  void pod(const T& v) { bytes(&v, sizeof v); }
  void bytes(const void* p, std::size_t n) { out.append(static_cast<const char*>(p), n); }
  void str(const std::string& s) {
    pod<std::uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  std::string out;
};

class Reader {
 public:
  Reader(std::string data, std::string path) : data_(std::move(data)), path_(std::move(path)) {}
  template <class T>
  T pod(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof v, what), sizeof v);
    return v;
  }
  std::string str(const char* what) {
    const auto n = pod<std::uint64_t>(what);
    return std::string(take(n, what), n);
  }
  const char* take(std::size_t n, const char* what) {
    if (n > data_.size() - pos_)
      throw InputError(path_ + ": checkpoint truncated at byte " + std::to_string(pos_) + " while reading " + what);
    const char* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  bool at_end() const { return pos_ == data_.size(); }
  std::size_t pos() const { return pos_; }

 private:
  std::string data_, path_;
  std::size_t pos_ = 0;
};

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  Writer w;
  w.bytes(kMagic, sizeof kMagic);
  w.str(c.config_toml);
  w.pod(c.round);
  w.pod(c.virtual_time_s);
  w.pod(c.wall_time_s);
  w.pod(c.final_accuracy);
  w.pod(c.best_accuracy);
  w.pod<std::uint64_t>(c.weights.size());
  w.bytes(c.weights.data(), c.weights.size() * sizeof(float));
  w.str(c.algorithm_state);

  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write checkpoint " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < w.out.size()) {
    const ssize_t n = ::write(fd, w.out.data() + done, w.out.size() - done);
    if (n < 0 && errno == EINTR) continue;  // a stop signal must not cost us the checkpoint it asked for
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot write checkpoint " + tmp + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  int rc;
  while ((rc = ::fsync(fd)) != 0 && errno == EINTR) {
  }
  if (rc != 0 || ::close(fd) != 0) throw std::runtime_error("cannot flush checkpoint " + tmp + ": " + std::strerror(errno));
  std::filesystem::rename(tmp, path);
  // The rename is durable only once the directory entry is on disk too.
  const std::string dir = std::filesystem::path(path).parent_path().empty()
                              ? std::string(".")
                              : std::filesystem::path(path).parent_path().string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

std::optional<Checkpoint> load_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Reader r(std::move(data), path);
  if (std::memcmp(r.take(sizeof kMagic, "the magic number"), kMagic, sizeof kMagic) != 0)
    throw InputError(path + ": not an edgesim checkpoint (bad magic number at byte 0)");
  Checkpoint c;
  c.config_toml = r.str("the config");
  c.round = r.pod<std::int64_t>("the round");
  c.virtual_time_s = r.pod<double>("the virtual time");
  c.wall_time_s = r.pod<double>("the wall time");
  c.final_accuracy = r.pod<double>("the accuracy");
  c.best_accuracy = r.pod<double>("the accuracy");
  const auto n = r.pod<std::uint64_t>("the model size");
  if (n > (1ull << 40)) throw InputError(path + ": corrupt checkpoint: model size " + std::to_string(n));
  c.weights.resize(n);
  std::memcpy(c.weights.data(), r.take(n * sizeof(float), "the model"), n * sizeof(float));
  c.algorithm_state = r.str("the algorithm state");
  if (!r.at_end()) throw InputError(path + ": trailing bytes after the checkpoint at byte " + std::to_string(r.pos()));
  return c;
}

}  // namespace edgesim
