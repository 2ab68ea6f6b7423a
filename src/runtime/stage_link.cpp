#include "edgesim/runtime/stage_link.hpp"

#include <mpi.h>

#include <list>
#include <stdexcept>

#include "edgesim/common/byte_buffer.hpp"
#include "edgesim/runtime/transport.hpp"

namespace edgesim {
namespace {

constexpr int kStageTag = 21;

enum DtypeCode : std::int8_t { kUndefined = 0, kFloat32 = 1, kInt64 = 2 };

std::size_t element_size(DtypeCode c) { return c == kInt64 ? sizeof(std::int64_t) : sizeof(float); }

std::string describe(const StageMessageKey& k) {
  return "stage message (kind " + std::to_string(static_cast<int>(k.kind)) + ", stage " + std::to_string(k.stage) +
         ", index " + std::to_string(k.index) + ", device " + std::to_string(k.from_device) + " -> " +
         std::to_string(k.to_device) + ")";
}

}  // namespace

std::string encode_stage_message(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors) {
  ByteWriter w;
  w.pod(key);
  w.pod<std::uint64_t>(tensors.size());
  for (const torch::Tensor& t : tensors) {
    if (!t.defined()) {
      w.pod(kUndefined);
      continue;
    }
    DtypeCode code;
    if (t.scalar_type() == torch::kFloat32)
      code = kFloat32;
    else if (t.scalar_type() == torch::kInt64)
      code = kInt64;
    else
      throw std::logic_error("stage message: only float32 and int64 tensors cross a cut");
    w.pod(code);
    const std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
    w.list(shape);
    const torch::Tensor c = t.detach().contiguous();
    w.bytes(c.data_ptr(), static_cast<std::size_t>(c.numel()) * element_size(code));
  }
  return std::move(w.out);
}

std::vector<torch::Tensor> decode_stage_message(const std::string& bytes, StageMessageKey* key) {
  ByteReader r(bytes.data(), bytes.size(), "edgesim stage message");
  const auto k = r.pod<StageMessageKey>("the key");
  if (key) *key = k;
  const auto n = r.pod<std::uint64_t>("the tensor count");
  std::vector<torch::Tensor> out;
  for (std::uint64_t i = 0; i < n; ++i) {
    const auto code = r.pod<DtypeCode>("a dtype");
    if (code == kUndefined) {
      out.emplace_back();
      continue;
    }
    const auto shape = r.list<std::int64_t>("a shape");
    std::int64_t numel = 1;
    for (std::int64_t s : shape) numel *= s;
    const char* p = r.take(static_cast<std::size_t>(numel) * element_size(code), "tensor data");
    const auto dtype = code == kInt64 ? torch::kInt64 : torch::kFloat32;
    out.push_back(torch::from_blob(const_cast<char*>(p), shape, dtype).clone());
  }
  return out;
}

std::size_t LocalStageLink::send(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors) {
  std::string bytes = encode_stage_message(key, tensors);
  const std::size_t size = bytes.size();
  if (!stash_.emplace(key, std::move(bytes)).second) throw std::logic_error("LocalStageLink: " + describe(key) + " sent twice");
  return size;
}

std::vector<torch::Tensor> LocalStageLink::receive(const StageMessageKey& key, std::size_t* bytes) {
  auto it = stash_.find(key);
  if (it == stash_.end()) throw std::logic_error("LocalStageLink: " + describe(key) + " received before it was sent");
  const std::string msg = std::move(it->second);
  stash_.erase(it);
  if (bytes) *bytes = msg.size();
  return decode_stage_message(msg, nullptr);
}

namespace {

class MpiStageLink : public StageLink {
 public:
  MpiStageLink(int rank, int world_size) : rank_(rank), world_size_(world_size) {}
  ~MpiStageLink() override { flush(); }

  std::size_t send(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors) override {
    std::string bytes = encode_stage_message(key, tensors);
    const std::size_t size = bytes.size();
    const int dest = host_rank(key.to_device, world_size_);
    if (dest == rank_) {
      if (!stash_.emplace(key, std::move(bytes)).second) throw std::logic_error("MpiStageLink: " + describe(key) + " sent twice");
      return size;
    }
    ++remote_messages_, remote_bytes_ += static_cast<std::int64_t>(size);
    pending_.push_back(Pending{std::move(bytes), MPI_REQUEST_NULL});
    Pending& p = pending_.back();
    MPI_Isend(p.bytes.data(), static_cast<int>(p.bytes.size()), MPI_BYTE, dest, kStageTag, MPI_COMM_WORLD, &p.request);
    reap();
    return size;
  }

  std::vector<torch::Tensor> receive(const StageMessageKey& key, std::size_t* bytes) override {
    for (;;) {
      auto it = stash_.find(key);
      if (it != stash_.end()) {
        const std::string msg = std::move(it->second);
        stash_.erase(it);
        if (bytes) *bytes = msg.size();
        return decode_stage_message(msg, nullptr);
      }
      const std::vector<char> buf = receive_message(-1, kStageTag, nullptr, nullptr, false);
      std::string msg(buf.begin(), buf.end());
      StageMessageKey got;
      ByteReader r(msg.data(), msg.size(), "edgesim stage message");
      got = r.pod<StageMessageKey>("the key");
      if (!stash_.emplace(got, std::move(msg)).second) throw std::logic_error("MpiStageLink: " + describe(got) + " arrived twice");
      reap();
    }
  }

  void flush() override {
    for (Pending& p : pending_) MPI_Wait(&p.request, MPI_STATUS_IGNORE);
    pending_.clear();
  }
  std::int64_t remote_messages() const override { return remote_messages_; }
  std::int64_t remote_bytes() const override { return remote_bytes_; }

 private:
  struct Pending {
    std::string bytes;
    MPI_Request request;
  };
  // Frees the buffers of completed sends.
  void reap() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      MPI_Test(&it->request, &done, MPI_STATUS_IGNORE);
      it = done ? pending_.erase(it) : std::next(it);
    }
  }
  int rank_, world_size_;
  std::int64_t remote_messages_ = 0, remote_bytes_ = 0;
  std::map<StageMessageKey, std::string> stash_;
  std::list<Pending> pending_;  // a list: MPI keeps pointers to the buffers
};

}  // namespace

std::unique_ptr<StageLink> make_mpi_stage_link(int rank, int world_size) {
  if (world_size < 2) throw std::logic_error("make_mpi_stage_link: needs executor ranks");
  return std::make_unique<MpiStageLink>(rank, world_size);
}

}  // namespace edgesim
