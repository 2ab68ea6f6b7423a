#include "edgesim/runtime/transport.hpp"

#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <thread>

#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/runtime/stop_signal.hpp"
#include "edgesim/runtime/task_runner.hpp"

namespace edgesim {
namespace {

enum Tag : int { kTaskTag = 1, kResultTag = 2, kStopTag = 3 };

// One contiguous buffer per message (common/byte_buffer.hpp).
void put_tensors(ByteWriter& w, const NamedTensors& tensors) {
  w.pod<std::uint64_t>(tensors.size());
  for (const auto& [name, t] : tensors) {
    w.str(name);
    const auto c = t.contiguous();
    w.floats(c.data_ptr<float>(), static_cast<std::size_t>(c.numel()));
  }
}

torch::Tensor take_floats(ByteReader& r, const char* what) {
  const auto n = r.float_count(what);
  const char* p = r.take(n * sizeof(float), what);
  return n ? torch::from_blob(const_cast<char*>(p), {static_cast<std::int64_t>(n)}, torch::kFloat32).clone()
           : torch::Tensor();
}

NamedTensors get_tensors(ByteReader& r) {
  NamedTensors out;
  const auto n = r.pod<std::uint64_t>("the tensor count");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string name = r.str("a tensor name");
    out[name] = take_floats(r, "a tensor");
  }
  return out;
}

std::vector<char> pack_order(const TaskOrder& o) {
  ByteWriter w;
  w.pod(o.device), w.pod(o.round), w.pod(o.clock_round), w.pod(o.depth);
  w.list(o.units);
  w.list(o.exits);
  w.str(o.trainer);
  w.pod<std::uint64_t>(o.options.all().size());
  for (const auto& [name, values] : o.options.all()) {
    w.str(name);
    w.list(values);
  }
  put_tensors(w, o.tensors);
  return {w.out.begin(), w.out.end()};
}

TaskOrder unpack_order(const std::vector<char>& buf) {
  ByteReader r(buf.data(), buf.size(), "edgesim task message");
  TaskOrder o;
  o.device = r.pod<std::int64_t>("the device");
  o.round = r.pod<std::int64_t>("the round");
  o.clock_round = r.pod<std::int64_t>("the clock round");
  o.depth = r.pod<std::int32_t>("the depth");
  o.units = r.list<std::int32_t>("the units");
  o.exits = r.list<std::int32_t>("the exit heads");
  o.trainer = r.str("the trainer");
  const auto options = r.pod<std::uint64_t>("the options");
  for (std::uint64_t i = 0; i < options; ++i) {
    std::string name = r.str("an option");
    o.options.set(name, r.list<double>("an option"));
  }
  o.tensors = get_tensors(r);
  return o;
}

struct ResultHeader {
  std::int64_t device, round, status, samples, local_samples, memory_bytes, peak_memory_bytes;
  std::uint64_t bytes_down, bytes_up;
  double train_loss, reference_compute_s, flops;
};

std::vector<char> pack_result(const TaskResult& r) {
  ByteWriter w;
  w.pod(ResultHeader{r.device, r.round, static_cast<std::int64_t>(r.status), r.samples, r.local_samples,
                     r.memory_bytes, r.peak_memory_bytes, r.bytes_down, r.bytes_up, r.train_loss,
                     r.reference_compute_s, r.flops});
  NamedTensors tensors = r.state;
  if (r.weights.defined()) tensors[""] = r.weights;  // "" cannot be a state name
  put_tensors(w, tensors);
  return {w.out.begin(), w.out.end()};
}

TaskResult unpack_result(const std::vector<char>& buf) {
  ByteReader r(buf.data(), buf.size(), "edgesim result message");
  const auto h = r.pod<ResultHeader>("the header");
  TaskResult t;
  t.device = h.device, t.round = h.round, t.status = static_cast<TaskStatus>(h.status);
  t.samples = h.samples, t.local_samples = h.local_samples, t.memory_bytes = h.memory_bytes;
  t.peak_memory_bytes = h.peak_memory_bytes;
  t.bytes_down = h.bytes_down, t.bytes_up = h.bytes_up;
  t.train_loss = h.train_loss, t.reference_compute_s = h.reference_compute_s, t.flops = h.flops;
  t.state = get_tensors(r);
  if (auto it = t.state.find(""); it != t.state.end()) {
    t.weights = it->second;
    t.state.erase(it);
  }
  return t;
}

class LocalTransport : public Transport {
 public:
  explicit LocalTransport(const Experiment& e) : runner_(e, hosted_devices(0, 1, e.config.devices.count)) {}
  std::vector<TaskResult> run_tasks(const OrderBatch& batch) override {
    std::vector<TaskResult> results;
    for (std::size_t i = 0; i < batch.devices.size(); ++i) results.push_back(runner_.run(batch.make(i)));
    return results;
  }

 private:
  TaskRunner runner_;
};

// Two orders ahead per rank: the executor has its next task when it finishes one (no idle
// round trip), and the coordinator holds at most 2 packed orders per executor rank.
constexpr std::size_t kOrdersAhead = 2;

class MpiTransport : public Transport {
 public:
  explicit MpiTransport(int world_size) : world_size_(world_size) {}

  std::vector<TaskResult> run_tasks(const OrderBatch& batch) override {
    struct Sent {
      std::vector<char> buffer;
      MPI_Request request = MPI_REQUEST_NULL;
    };
    std::map<int, std::deque<std::size_t>> waiting;  // per executor rank, in batch order
    std::map<int, std::deque<Sent>> sent;            // per executor rank, oldest first
    for (std::size_t i = 0; i < batch.devices.size(); ++i)
      waiting[host_rank(static_cast<int>(batch.devices[i]), world_size_)].push_back(i);
    // Non-blocking sends: an executor may be busy returning a result while we still send.
    auto send_next = [&](int rank) {
      auto& queue = waiting[rank];
      if (queue.empty()) return;
      Sent& s = sent[rank].emplace_back();  // a deque never moves its elements on push_back
      s.buffer = pack_order(batch.make(queue.front()));
      queue.pop_front();
      MPI_Isend(s.buffer.data(), static_cast<int>(s.buffer.size()), MPI_BYTE, rank, kTaskTag, MPI_COMM_WORLD,
                &s.request);
    };
    for (const auto& [rank, queue] : waiting)
      for (std::size_t k = 0; k < kOrdersAhead; ++k) send_next(rank);
    std::vector<TaskResult> results;
    for (std::size_t i = 0; i < batch.devices.size(); ++i) {
      int from = 0;
      results.push_back(unpack_result(receive_message(-1, kResultTag, &from, nullptr, true)));
      // An executor answers its tasks in the order they were sent (MPI keeps the order of
      // messages between two ranks): this result answers the oldest, whose send is complete.
      auto& mine = sent.at(from);
      MPI_Wait(&mine.front().request, MPI_STATUS_IGNORE);
      mine.pop_front();
      send_next(from);
    }
    return results;
  }

  void shutdown() override {
    for (int r = 1; r < world_size_; ++r) MPI_Send(nullptr, 0, MPI_BYTE, r, kStopTag, MPI_COMM_WORLD);
  }

 private:
  int world_size_;
};

}  // namespace

// Waits for a message without spinning: Open MPI's blocking probe busy-polls, which on an
// oversubscribed laptop steals a core from the ranks that are training. Tasks take
// milliseconds to seconds, so a sleep of at most 1 ms between polls costs nothing.
// On the coordinator (`interruptible`), a stop request ends the wait with StopRequested;
// executors keep serving until the coordinator has checkpointed and ends the job.
std::vector<char> receive_message(int source, int tag, int* from, int* got_tag, bool interruptible) {
  if (source < 0) source = MPI_ANY_SOURCE;
  if (tag < 0) tag = MPI_ANY_TAG;
  MPI_Status status;
  int arrived = 0;
  for (int pause_us = 10;; pause_us = std::min(2 * pause_us, 1000)) {
    MPI_Iprobe(source, tag, MPI_COMM_WORLD, &arrived, &status);
    if (arrived) break;
    if (interruptible && stop_requested()) throw StopRequested{};
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
  }
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  std::vector<char> buf(count);
  MPI_Recv(buf.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (from) *from = status.MPI_SOURCE;
  if (got_tag) *got_tag = status.MPI_TAG;
  return buf;
}

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
    int tag = 0;
    const auto buf = receive_message(0, -1, nullptr, &tag, false);
    if (tag == kStopTag) return;
    const auto out = pack_result(runner.run(unpack_order(buf)));
    MPI_Send(out.data(), static_cast<int>(out.size()), MPI_BYTE, 0, kResultTag, MPI_COMM_WORLD);
  }
}

}  // namespace edgesim
