#include "edgesim/runtime/transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/task_runner.hpp"

namespace edgesim {
namespace {

enum Tag : int { kTaskTag = 1, kResultTag = 2, kStopTag = 3 };

struct TaskHeader {
  std::int64_t device, round, num_units, num_rates, num_floats, depth, clock_round;
  double train_scale;
  LocalObjective objective;
};

struct ResultHeader {
  std::int64_t device, round, status, samples, local_samples, memory_bytes, peak_memory_bytes;
  std::uint64_t bytes_down, bytes_up;
  std::int64_t num_floats;
  double train_loss, reference_compute_s;
};

// The single buffer a message carries: the header (for tasks, with the submodel's depth), then
// (tasks only) the kept units per group and the dropout rates, then the weights.
template <class Header>
std::vector<char> pack(const Header& h, const std::vector<std::int32_t>& units, const std::vector<double>& rates,
                       const torch::Tensor& weights) {
  const std::size_t ubytes = units.size() * sizeof(std::int32_t), rbytes = rates.size() * sizeof(double);
  const std::size_t wbytes = h.num_floats * sizeof(float);
  std::vector<char> buf(sizeof(Header) + ubytes + rbytes + wbytes);
  char* p = buf.data();
  std::memcpy(p, &h, sizeof(Header));
  if (ubytes) std::memcpy(p + sizeof(Header), units.data(), ubytes);
  if (rbytes) std::memcpy(p + sizeof(Header) + ubytes, rates.data(), rbytes);
  if (wbytes) std::memcpy(p + sizeof(Header) + ubytes + rbytes, weights.contiguous().data_ptr<float>(), wbytes);
  return buf;
}

template <class Header>
Header unpack(const std::vector<char>& buf, std::size_t num_units, std::size_t num_rates,
              std::vector<std::int32_t>* units, std::vector<double>* rates, torch::Tensor* weights) {
  Header h;
  std::memcpy(&h, buf.data(), sizeof(Header));
  const std::size_t ubytes = num_units * sizeof(std::int32_t), rbytes = num_rates * sizeof(double);
  if (buf.size() != sizeof(Header) + ubytes + rbytes + h.num_floats * sizeof(float))
    throw std::runtime_error("malformed edgesim message: size does not match its header");
  const char* p = buf.data() + sizeof(Header);
  if (units) {
    units->resize(num_units);
    if (ubytes) std::memcpy(units->data(), p, ubytes);
  }
  if (rates) {
    rates->resize(num_rates);
    if (rbytes) std::memcpy(rates->data(), p + ubytes, rbytes);
  }
  *weights = h.num_floats ? torch::from_blob(const_cast<char*>(p + ubytes + rbytes), {h.num_floats},
                                             torch::kFloat32).clone()
                          : torch::Tensor();
  return h;
}

TaskHeader task_header_of(const std::vector<char>& buf) {
  TaskHeader h;
  std::memcpy(&h, buf.data(), sizeof h);
  return h;
}

// Waits for a message without spinning: Open MPI's blocking probe busy-polls, which on an
// oversubscribed laptop steals a core from the ranks that are training. Tasks take
// milliseconds to seconds, so a sleep of at most 1 ms between polls costs nothing.
// On the coordinator (`interruptible`), a stop request ends the wait with StopRequested;
// executors keep serving until the coordinator has checkpointed and ends the job.
std::vector<char> receive(int source, int tag, MPI_Status* status, bool interruptible) {
  int arrived = 0;
  for (int pause_us = 10;; pause_us = std::min(2 * pause_us, 1000)) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &arrived, status);
    if (arrived) break;
    if (interruptible && stop_requested()) throw StopRequested{};
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }
  int count = 0;
  MPI_Get_count(status, MPI_BYTE, &count);
  std::vector<char> buf(count);
  MPI_Recv(buf.data(), count, MPI_BYTE, status->MPI_SOURCE, status->MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return buf;
}

std::vector<char> pack_result(const TaskResult& r) {
  ResultHeader h{r.device, r.round, static_cast<std::int64_t>(r.status), r.samples, r.local_samples,
                 r.memory_bytes, r.peak_memory_bytes, r.bytes_down, r.bytes_up,
                 r.weights.defined() ? r.weights.numel() : 0, r.train_loss, r.reference_compute_s};
  return pack(h, {}, {}, r.weights);
}

TaskResult unpack_result(const std::vector<char>& buf) {
  TaskResult r;
  const auto h = unpack<ResultHeader>(buf, 0, 0, nullptr, nullptr, &r.weights);
  r.device = h.device, r.round = h.round, r.status = static_cast<TaskStatus>(h.status);
  r.samples = h.samples, r.local_samples = h.local_samples, r.memory_bytes = h.memory_bytes;
  r.peak_memory_bytes = h.peak_memory_bytes;
  r.bytes_down = h.bytes_down, r.bytes_up = h.bytes_up;
  r.train_loss = h.train_loss, r.reference_compute_s = h.reference_compute_s;
  return r;
}

class LocalTransport : public Transport {
 public:
  explicit LocalTransport(const Experiment& e) : runner_(e, hosted_devices(0, 1, e.config.devices.count)) {}
  std::vector<TaskResult> run_tasks(const std::vector<TaskOrder>& orders) override {
    std::vector<TaskResult> results;
    for (const auto& o : orders) results.push_back(runner_.run(o));
    return results;
  }

 private:
  TaskRunner runner_;
};

class MpiTransport : public Transport {
 public:
  explicit MpiTransport(int world_size) : world_size_(world_size) {}

  std::vector<TaskResult> run_tasks(const std::vector<TaskOrder>& orders) override {
    // Non-blocking sends: an executor may be busy returning a result while we still send.
    std::vector<std::vector<char>> buffers;
    buffers.reserve(orders.size());
    std::vector<MPI_Request> requests(orders.size());
    for (std::size_t i = 0; i < orders.size(); ++i) {
      const auto& o = orders[i];
      const TaskHeader h{o.device, o.round, static_cast<std::int64_t>(o.units.size()),
                         static_cast<std::int64_t>(o.dropout_rates.size()), o.weights.numel(), o.depth, o.clock_round,
                         o.train_scale, o.objective};
      buffers.push_back(pack(h, o.units, o.dropout_rates, o.weights));
      MPI_Isend(buffers.back().data(), static_cast<int>(buffers.back().size()), MPI_BYTE,
                host_rank(static_cast<int>(o.device), world_size_), kTaskTag, MPI_COMM_WORLD, &requests[i]);
    }
    std::vector<TaskResult> results;
    for (std::size_t i = 0; i < orders.size(); ++i) {
      MPI_Status status;
      results.push_back(unpack_result(receive(MPI_ANY_SOURCE, kResultTag, &status, true)));
    }
    MPI_Waitall(static_cast<int>(requests.size()), requests.data(), MPI_STATUSES_IGNORE);
    return results;
  }

  void shutdown() override {
    for (int r = 1; r < world_size_; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kStopTag, MPI_COMM_WORLD);
  }

 private:
  int world_size_;
};

}  // namespace

int host_rank(int device, int world_size) { return world_size == 1 ? 0 : 1 + device % (world_size - 1); }

std::vector<int> hosted_devices(int rank, int world_size, int num_devices) {
  std::vector<int> out;
  for (int d = 0; d < num_devices; ++d)
    if (host_rank(d, world_size) == rank) out.push_back(d);
  return out;
}

std::unique_ptr<Transport> make_transport(const Experiment& e, int world_size) {
  if (world_size == 1) return std::make_unique<LocalTransport>(e);
  return std::make_unique<MpiTransport>(world_size);
}

void serve_tasks(const Experiment& e, int rank, int world_size) {
  TaskRunner runner(e, hosted_devices(rank, world_size, e.config.devices.count));
  for (;;) {
    MPI_Status status;
    const auto buf = receive(0, MPI_ANY_TAG, &status, false);
    if (status.MPI_TAG == kStopTag) return;
    TaskOrder order;
    const TaskHeader peek = task_header_of(buf);
    const auto h = unpack<TaskHeader>(buf, peek.num_units, peek.num_rates, &order.units, &order.dropout_rates,
                                      &order.weights);
    order.device = h.device, order.round = h.round, order.train_scale = h.train_scale;
    order.objective = h.objective;
    order.depth = static_cast<std::int32_t>(h.depth);
    order.clock_round = h.clock_round;
    const auto out = pack_result(runner.run(order));
    MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, 0, kResultTag, MPI_COMM_WORLD);
  }
}

}  // namespace edgesim
