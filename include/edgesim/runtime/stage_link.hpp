#pragma once
// How the replicas of pipeline stages hand each other tensors: activations forward, gradients
// backward, all-reduce and tied-weight gradients. Every message goes from one device to another
// and is one contiguous ByteWriter buffer (common/byte_buffer.hpp): a key naming what it is,
// the tensor count, then per tensor whether it is defined, its dtype, its shape and its data.
// A receiver asks for a key; messages that arrive for other keys wait in a stash until asked
// for, so replicas sharing a rank may receive in any order. Both links encode every message the
// same way, so the in-process run (one rank) and an MPI run move the same bytes.
//
// LocalStageLink: every device on this process. MpiStageLink: device d on executor rank
// 1 + d mod (R − 1) (runtime/transport.hpp's host_rank); a message to a device on the same rank
// is stashed locally, one to another rank is a non-blocking MPI send (kept until complete).
#include <cstdint>
#include <map>
#include <memory>
#include <tuple>
#include <vector>

#include <torch/torch.h>

namespace edgesim {

enum class StageMessageKind : std::int32_t { kActivation = 0, kGradient = 1, kReduceIn = 2, kReduceOut = 3, kTied = 4 };

struct StageMessageKey {
  StageMessageKind kind = StageMessageKind::kActivation;
  std::int32_t stage = 0, index = 0;  // index: the micro-batch, or the tied pair
  std::int32_t from_device = 0, to_device = 0;
  auto tie() const { return std::make_tuple(static_cast<int>(kind), stage, index, from_device, to_device); }
  bool operator<(const StageMessageKey& o) const { return tie() < o.tie(); }
};

// Undefined tensors travel as a flag (a gradient that does not exist).
std::string encode_stage_message(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors);
std::vector<torch::Tensor> decode_stage_message(const std::string& bytes, StageMessageKey* key);

class StageLink {
 public:
  virtual ~StageLink() = default;
  // Returns the message's size in bytes (what the sending device uploads).
  virtual std::size_t send(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors) = 0;
  // Blocks until the message `key` has arrived; `bytes` gets its size.
  virtual std::vector<torch::Tensor> receive(const StageMessageKey& key, std::size_t* bytes) = 0;
  // Waits until every send has completed (before the buffers may be reused, at iteration end).
  virtual void flush() {}
  // Messages and bytes sent to another process so far (0 in process).
  virtual std::int64_t remote_messages() const { return 0; }
  virtual std::int64_t remote_bytes() const { return 0; }
};

class LocalStageLink : public StageLink {
 public:
  std::size_t send(const StageMessageKey& key, const std::vector<torch::Tensor>& tensors) override;
  std::vector<torch::Tensor> receive(const StageMessageKey& key, std::size_t* bytes) override;

 private:
  std::map<StageMessageKey, std::string> stash_;
};

// `rank`, `world_size` of MPI_COMM_WORLD (world_size ≥ 2).
std::unique_ptr<StageLink> make_mpi_stage_link(int rank, int world_size);

}  // namespace edgesim
