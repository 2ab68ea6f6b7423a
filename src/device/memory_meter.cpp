#include "edgesim/device/memory_meter.hpp"

// Only c10 headers: this file must not drag in all of torch/torch.h.
#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <c10/util/Exception.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "edgesim/common/units.hpp"

namespace edgesim {

namespace detail {
struct ScopeState {
  std::uint64_t cap = 0;
  std::atomic<std::uint64_t> live{0}, peak{0};
  std::atomic<bool> exceeded{false};
};
}  // namespace detail

namespace {

using detail::ScopeState;

constexpr const char* kCapMessage = "edgesim: device memory cap of ";

// A subclass so that the cap can be told from a real out-of-memory of the host.
class MemoryCapError : public c10::OutOfMemoryError {
 public:
  // An empty backtrace: what() stays the one-line message, and no stack walk on every OOM.
  explicit MemoryCapError(std::string msg) : c10::OutOfMemoryError(std::move(msg), "") {}
};

// The bookkeeping sits in front of the tensor's data, in the same block: a deleter is handed
// only one pointer, and LibTorch's raw_allocate/raw_deallocate path (oneDNN uses it) requires
// that pointer to be the data itself, so a separate context object is not an option.
struct Header {
  c10::DataPtr block;                 // what the wrapped allocator returned; owns the memory
  std::uint64_t nbytes;               // as requested, which is what gets counted
  std::shared_ptr<ScopeState> scope;  // the scope that was charged, if any
};
// A whole alignment unit keeps the data exactly as aligned as the wrapped allocator's blocks.
constexpr std::size_t kHeaderBytes = c10::gAlignment;
static_assert(sizeof(Header) <= kHeaderBytes, "allocation header outgrew its slot");

// Leaked on purpose: tensors may still be freed, or allocated, during static destruction.
std::atomic<std::uint64_t>& global_live() {
  static auto* live = new std::atomic<std::uint64_t>(0);
  return *live;
}
std::shared_ptr<ScopeState>& open_scope() {  // only through std::atomic_load/store/exchange
  static auto* scope = new std::shared_ptr<ScopeState>();
  return *scope;
}

void charge(ScopeState& s, std::uint64_t n) {
  const std::uint64_t live = s.live.fetch_add(n) + n;
  if (live > s.cap) {
    s.live.fetch_sub(n);
    s.exceeded = true;
    throw MemoryCapError(std::string(kCapMessage) + format_bytes(s.cap) + " exceeded: task needs " +
                         format_bytes(live) + " live (allocation of " + format_bytes(n) + ")");
  }
  std::uint64_t peak = s.peak.load();
  while (live > peak && !s.peak.compare_exchange_weak(peak, live)) {
  }
}

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* wrapped) : wrapped_(wrapped) {}

  c10::DataPtr allocate(size_t n) const override {
    const c10::Device cpu(c10::DeviceType::CPU);
    if (n == 0) return {nullptr, nullptr, &release, cpu};
    std::shared_ptr<ScopeState> scope = std::atomic_load(&open_scope());
    if (scope) charge(*scope, n);
    c10::DataPtr block;
    try {
      block = wrapped_->allocate(n + kHeaderBytes);
    } catch (...) {
      if (scope) scope->live.fetch_sub(n);
      throw;
    }
    char* base = static_cast<char*>(block.get());
    void* data = base + kHeaderBytes;
    new (base) Header{std::move(block), n, std::move(scope)};
    global_live().fetch_add(n);
    return {data, data, &release, cpu};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

 private:
  static void release(void* data) {
    if (!data) return;
    auto* h = reinterpret_cast<Header*>(static_cast<char*>(data) - kHeaderBytes);
    // Move everything out first: destroying `block` frees the memory the header lives in.
    c10::DataPtr block = std::move(h->block);
    const std::shared_ptr<ScopeState> scope = std::move(h->scope);
    const std::uint64_t n = h->nbytes;
    h->~Header();
    global_live().fetch_sub(n);
    if (scope) scope->live.fetch_sub(n);
  }

  c10::Allocator* wrapped_;
};

std::atomic<CountingAllocator*> g_counting{nullptr};

}  // namespace

void install_counting_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto* counting = new CountingAllocator(c10::GetCPUAllocator());  // static lifetime, as c10 requires
    c10::SetCPUAllocator(counting);
    if (c10::GetCPUAllocator() != counting)  // a higher-priority allocator would silently win
      throw std::runtime_error("edgesim: could not install the counting CPU allocator");
    g_counting = counting;
  });
}

bool counting_allocator_installed() {
  const CountingAllocator* counting = g_counting.load();
  return counting && c10::GetCPUAllocator() == counting;
}

std::uint64_t live_bytes() { return global_live().load(); }

MemoryScope::MemoryScope(std::uint64_t cap_bytes) : state_(std::make_shared<ScopeState>()) {
  if (!counting_allocator_installed())
    throw std::logic_error("MemoryScope needs install_counting_allocator() first");
  state_->cap = cap_bytes;
  std::shared_ptr<ScopeState> none;
  if (!std::atomic_compare_exchange_strong(&open_scope(), &none, state_))
    throw std::logic_error("MemoryScope: another scope is open; scopes do not nest");
}

MemoryScope::~MemoryScope() { std::atomic_store(&open_scope(), std::shared_ptr<ScopeState>()); }

std::uint64_t MemoryScope::cap_bytes() const { return state_->cap; }
std::uint64_t MemoryScope::live_bytes() const { return state_->live.load(); }
std::uint64_t MemoryScope::peak_bytes() const { return state_->peak.load(); }
bool MemoryScope::cap_exceeded() const { return state_->exceeded.load(); }

MemoryAccount::MemoryAccount() : state_(std::make_shared<ScopeState>()) {
  if (!counting_allocator_installed())
    throw std::logic_error("MemoryAccount needs install_counting_allocator() first");
  state_->cap = MemoryScope::kUnlimited;
}

std::uint64_t MemoryAccount::live_bytes() const { return state_->live.load(); }
std::uint64_t MemoryAccount::peak_bytes() const { return state_->peak.load(); }
void MemoryAccount::reset_peak() { state_->peak = state_->live.load(); }

MemoryAccount::Charging::Charging(MemoryAccount& account) {
  std::shared_ptr<ScopeState> none;
  if (!std::atomic_compare_exchange_strong(&open_scope(), &none, account.state_))
    throw std::logic_error("MemoryAccount: another meter is open; they do not nest");
}

MemoryAccount::Charging::~Charging() { std::atomic_store(&open_scope(), std::shared_ptr<ScopeState>()); }

bool is_memory_cap_error(const std::exception& e) {
  return dynamic_cast<const MemoryCapError*>(&e) != nullptr || std::strstr(e.what(), kCapMessage) != nullptr;
}

}  // namespace edgesim
