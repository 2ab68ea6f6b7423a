#pragma once
// The enforced memory cap of a device task. On executor ranks a counting allocator wraps
// LibTorch's CPU allocator (which still does the real allocation) and counts the requested
// bytes of every CPU tensor storage. While a MemoryScope is open, the bytes the task has
// allocated and still holds may not exceed the scope's cap: the allocation that would cross it
// throws c10::OutOfMemoryError (a c10::Error, the family LibTorch's own CPU allocator throws
// when malloc fails), so the op, forward or backward unwinds like on a real OOM, every tensor
// it held is freed, and the executor goes on serving its other devices.
//
//   install_counting_allocator();                    // once per process, before any task
//   MemoryScope scope(device.memory_cap_bytes);
//   build the network, load weights, train ...       // all of it is counted
//   catch (const std::exception& e) { if (is_memory_cap_error(e)) -> oom }
//   scope.peak_bytes();                               // the task's measured footprint
//
// What a scope counts: tensors allocated while it is open and not yet freed — parameters,
// gradients, optimizer state, batches, activations saved for backward, autograd temporaries.
// Memory that existed before it opened is neither counted nor credited when freed: the executor
// keeps every hosted device's samples resident, which a real device would keep in storage and
// stream in batch by batch (and the batch copies are allocated inside the scope). So the caller
// must build the network (allocate its parameters) inside the scope, or weights go unmeasured.
// Not counted at all: memory LibTorch gets elsewhere (BLAS/oneDNN workspaces, kernels' own
// std::vectors, autograd graph nodes) and the allocator's own padding.
//
// One scope at a time per process, not nested (opening a second throws std::logic_error). It is
// process-wide, not per thread, because intra-op worker threads allocate for the task too; the
// executor must therefore not allocate tensors for other work while a task's scope is open.
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>

namespace edgesim {

// Idempotent. Wraps whatever c10::GetCPUAllocator() returns at the first call. Tensors allocated
// before it remain valid but are never counted.
void install_counting_allocator();
bool counting_allocator_installed();

// Bytes of all counted tensors alive now, in or out of a scope.
std::uint64_t live_bytes();

namespace detail {
struct ScopeState;
}

class MemoryScope {
 public:
  static constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

  // Throws std::logic_error without the counting allocator or inside another scope.
  explicit MemoryScope(std::uint64_t cap_bytes);
  ~MemoryScope();
  MemoryScope(const MemoryScope&) = delete;
  MemoryScope& operator=(const MemoryScope&) = delete;

  std::uint64_t cap_bytes() const;
  std::uint64_t live_bytes() const;  // allocated in this scope and still alive
  std::uint64_t peak_bytes() const;  // the most live_bytes() has been
  bool cap_exceeded() const;         // an allocation was refused, whatever became of the error

 private:
  // Shared with every allocation made in the scope, so frees after the scope closed stay safe.
  std::shared_ptr<detail::ScopeState> state_;
};

// A footprint metered across many short charging spells: pipeline stage replicas that share a
// process take turns (one op each), and every allocation made while an account is charging
// stays counted against it until freed, whoever frees it and when. Like a scope it is the
// process's only open meter while charging (a Charging guard and a MemoryScope exclude each
// other). It never refuses an allocation: the caller compares peak_bytes() with its cap.
class MemoryAccount {
 public:
  MemoryAccount();  // throws std::logic_error without the counting allocator
  std::uint64_t live_bytes() const;
  std::uint64_t peak_bytes() const;  // the most live_bytes() has been since the last reset
  void reset_peak();                 // peak := live

  class Charging {
   public:
    explicit Charging(MemoryAccount& account);  // throws std::logic_error if a meter is open
    ~Charging();
    Charging(const Charging&) = delete;
    Charging& operator=(const Charging&) = delete;
  };

 private:
  std::shared_ptr<detail::ScopeState> state_;
};

// True for the error thrown when a scope's cap is exceeded, also when LibTorch rethrew it
// with only its message kept.
bool is_memory_cap_error(const std::exception& e);

}  // namespace edgesim
