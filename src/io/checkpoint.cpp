#include "edgesim/io/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "edgesim/common/byte_buffer.hpp"

namespace edgesim {
namespace {

constexpr char kMagic[8] = {'E', 'S', 'C', 'K', 'P', 'T', '0', '5'};

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.str(c.config_toml);
  w.pod(c.round);
  w.pod(c.virtual_time_s);
  w.pod(c.wall_time_s);
  w.pod(c.final_accuracy);
  w.pod(c.best_accuracy);
  w.pod(c.training_s);
  w.floats(c.weights);
  w.str(c.algorithm_state);
  w.pod(c.dispatched);
  w.pod(c.version);
  w.pod<std::uint64_t>(c.in_flight.size());
  for (const auto& f : c.in_flight) {
    w.pod(f.dispatch), w.pod(f.device), w.pod(f.version), w.pod(f.stream), w.pod(f.clock_round);
    w.pod(f.start_s), w.pod(f.end_s);
    w.pod<std::uint8_t>(f.trained);
    w.str(f.plan);
  }
  w.pod<std::uint64_t>(c.start_models.size());
  for (const auto& [version, weights] : c.start_models) {
    w.pod(version);
    w.floats(weights);
  }
  w.str(c.schedule_state);
  w.pod(c.timer_s);
  w.pod<std::uint64_t>(c.device_state.size());
  for (const auto& t : c.device_state) {
    w.pod(t.device);
    w.str(t.name);
    w.floats(t.values);
  }

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
  ByteReader r(data.data(), data.size(), path + ": checkpoint");
  const char* magic = r.take(sizeof kMagic, "the magic number");
  if (std::memcmp(magic, kMagic, 6) == 0 && std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    throw InputError(path + ": checkpoint format " + std::string(magic + 6, 2) + " is not this edgesim's (" +
                     std::string(kMagic + 6, 2) + "); rerun with --overwrite instead of --resume");
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0)
    throw InputError(path + ": not an edgesim checkpoint (bad magic number at byte 0)");
  Checkpoint c;
  c.config_toml = r.str("the config");
  c.round = r.pod<std::int64_t>("the round");
  c.virtual_time_s = r.pod<double>("the virtual time");
  c.wall_time_s = r.pod<double>("the wall time");
  c.final_accuracy = r.pod<double>("the accuracy");
  c.best_accuracy = r.pod<double>("the accuracy");
  c.training_s = r.pod<double>("the training time");
  c.weights = r.floats("the model");
  c.algorithm_state = r.str("the algorithm state");
  c.dispatched = r.pod<std::int64_t>("the dispatch count");
  c.version = r.pod<std::int64_t>("the model version");
  const auto tasks = r.pod<std::uint64_t>("the tasks in flight");
  for (std::uint64_t i = 0; i < tasks; ++i) {
    Checkpoint::InFlight f;
    f.dispatch = r.pod<std::int64_t>("a task in flight");
    f.device = r.pod<std::int64_t>("a task in flight");
    f.version = r.pod<std::int64_t>("a task in flight");
    f.stream = r.pod<std::int64_t>("a task in flight");
    f.clock_round = r.pod<std::int64_t>("a task in flight");
    f.start_s = r.pod<double>("a task in flight");
    f.end_s = r.pod<double>("a task in flight");
    f.trained = r.pod<std::uint8_t>("a task in flight") != 0;
    f.plan = r.str("a task in flight");
    c.in_flight.push_back(f);
  }
  const auto models = r.pod<std::uint64_t>("the start models");
  for (std::uint64_t i = 0; i < models; ++i) {
    const auto version = r.pod<std::int64_t>("a start model");
    c.start_models.emplace_back(version, r.floats("a start model"));
  }
  c.schedule_state = r.str("the schedule state");
  c.timer_s = r.pod<double>("the timer");
  const auto tensors = r.pod<std::uint64_t>("the device state");
  for (std::uint64_t i = 0; i < tensors; ++i) {
    Checkpoint::DeviceTensor t;
    t.device = r.pod<std::int64_t>("the device state");
    t.name = r.str("the device state");
    t.values = r.floats("the device state");
    c.device_state.push_back(std::move(t));
  }
  if (!r.at_end()) throw InputError(path + ": trailing bytes after the checkpoint at byte " + std::to_string(r.pos()));
  return c;
}

}  // namespace edgesim
