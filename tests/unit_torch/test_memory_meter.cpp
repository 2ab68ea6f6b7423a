// The counting CPU allocator counts exactly the requested bytes, enforces a scope's cap by
// throwing like a real OOM, and stays consistent after a refused allocation and across threads.
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>
// After torch: its glog defines CHECK (a silent abort-on-failure), which must be Catch's here.
#undef CHECK
#include <catch2/catch.hpp>

#include <cstdio>
#include <thread>

#include "edgesim/device/cost.hpp"
#include "edgesim/device/memory_meter.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/random_samples.hpp"
#include "edgesim/model/zoo.hpp"

using namespace edgesim;

namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

// What MemoryScope saw while a freshly built network trained: the first step's phases, and the
// peak over all steps.
struct StepMemory {
  std::uint64_t after_build = 0, after_forward = 0, forward_peak = 0, peak = 0, after_step = 0;
};

// Training steps as train_locally runs them: the device's samples exist before the scope (the
// executor holds them); the network, the batch copies and everything training allocates are
// inside it. The phases are those of the first step; later steps also hold gradients and
// momentum during their forward, so their peak is higher.
StepMemory training_steps(const ModelSpec& spec, int batch, std::uint64_t cap, int steps = 1) {
  torch::manual_seed(3);
  const std::int64_t n = 2 * batch;
  const auto [x, y] = random_samples(spec, n);
  const auto idx = torch::randperm(n, torch::kInt64).narrow(0, 0, batch);

  StepMemory m;
  MemoryScope scope(cap);
  auto net = build_network(spec);
  net->train();
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  m.after_build = scope.live_bytes();
  for (int step = 0; step < steps; ++step) {
    const auto xb = x.index_select(0, idx), yb = y.index_select(0, idx);
    opt.zero_grad();
    auto loss = classification_loss(net->forward(xb), yb);
    if (step == 0) m.after_forward = scope.live_bytes(), m.forward_peak = scope.peak_bytes();
    loss.backward();
    opt.step();
    if (step == 0) m.after_step = scope.live_bytes();
  }
  m.peak = scope.peak_bytes();
  return m;
}

std::uint64_t parameter_bytes(const ModelSpec& spec) { return 4 * static_cast<std::uint64_t>(spec.parameter_count()); }

}  // namespace

TEST_CASE("a scope counts the requested bytes of the tensors allocated in it", "[memory]") {
  install_counting_allocator();
  install_counting_allocator();  // idempotent
  REQUIRE(counting_allocator_installed());
  const std::uint64_t before = live_bytes();
  {
    MemoryScope scope(MemoryScope::kUnlimited);
    CHECK(scope.peak_bytes() == 0);
    auto a = torch::empty({1000});                  // 4000 B
    auto b = torch::empty({250}, torch::kFloat64);  // 2000 B
    auto none = torch::empty({0});
    CHECK(scope.live_bytes() == 6000);
    CHECK(live_bytes() == before + 6000);
    a.reset();
    CHECK(scope.live_bytes() == 2000);
    CHECK(live_bytes() == before + 2000);
    CHECK(scope.peak_bytes() == 6000);

    // The raw interface (oneDNN allocates through it) is counted and freed the same way.
    void* raw = c10::GetCPUAllocator()->raw_allocate(100);
    CHECK(scope.live_bytes() == 2100);
    c10::GetCPUAllocator()->raw_deallocate(raw);
    CHECK(scope.live_bytes() == 2000);
    CHECK_FALSE(scope.cap_exceeded());
  }
  CHECK(live_bytes() == before);
}

TEST_CASE("memory from before the scope is neither counted nor credited", "[memory]") {
  install_counting_allocator();
  auto resident = torch::ones({10000});
  auto survivor = torch::Tensor();
  {
    MemoryScope first(MemoryScope::kUnlimited);
    auto copy = resident * 2;
    survivor = torch::empty({500});
    CHECK(first.live_bytes() == 40000 + 2000);
  }
  MemoryScope second(MemoryScope::kUnlimited);
  resident.reset();
  survivor.reset();  // belonged to the first scope
  CHECK(second.live_bytes() == 0);
  auto t = torch::empty({10});
  CHECK(second.live_bytes() == 40);
  CHECK_THROWS_AS(MemoryScope(MemoryScope::kUnlimited), std::logic_error);  // no nesting
}

TEST_CASE("an allocation over the cap throws an OOM and leaves the meter usable", "[memory]") {
  install_counting_allocator();
  const std::uint64_t before = live_bytes();
  {
    MemoryScope scope(kMiB);
    auto a = torch::empty({100000});  // 400 kB of the 1 MiB
    try {
      auto b = torch::empty({200000});  // 800 kB more
      FAIL("the allocation over the cap succeeded");
    } catch (const c10::OutOfMemoryError& e) {
      CHECK(is_memory_cap_error(e));
      CHECK_THAT(e.what(), Catch::Matches("edgesim: device memory cap of 1\\.0 MiB exceeded: task needs 1\\.1 MiB "
                                          "live \\(allocation of 781\\.2 KiB\\)\\s*"));
    }
    CHECK(scope.cap_exceeded());
    CHECK(scope.live_bytes() == 400000);
    CHECK(scope.peak_bytes() == 400000);
    auto c = torch::empty({150000});  // still fits next to `a`
    CHECK(scope.live_bytes() == 1000000);
  }
  CHECK(live_bytes() == before);

  MemoryScope next(kMiB);
  CHECK_FALSE(next.cap_exceeded());
  auto d = torch::empty({200000});
  CHECK(next.live_bytes() == 800000);
  CHECK_FALSE(is_memory_cap_error(std::runtime_error("DefaultCPUAllocator: not enough memory")));
}

TEST_CASE("a training step inside a scope is measured, and fails cleanly under a tight cap", "[memory]") {
  install_counting_allocator();
  const ModelSpec spec = make_cnn(1, 28, 10, 0.5);
  const std::uint64_t before = live_bytes();
  const StepMemory m = training_steps(spec, 16, MemoryScope::kUnlimited);
  CHECK(live_bytes() == before);
  // Weights, gradients and the momentum buffer are all alive after the first step.
  CHECK(m.after_build >= parameter_bytes(spec));
  CHECK(m.after_step >= 3 * parameter_bytes(spec));
  CHECK(m.peak > 3 * parameter_bytes(spec));
  CHECK(m.peak >= m.forward_peak);

  // Refused during the step.
  try {
    training_steps(spec, 16, (m.after_build + m.peak) / 2);
    FAIL("the step fit under a cap below its peak");
  } catch (const std::exception& e) {
    INFO(e.what());
    CHECK(is_memory_cap_error(e));
  }
  CHECK(live_bytes() == before);
  // Refused while building the network.
  CHECK_THROWS_MATCHES(training_steps(spec, 16, parameter_bytes(spec) / 2), std::exception,
                       Catch::Predicate<std::exception>(is_memory_cap_error));
  CHECK(live_bytes() == before);
}

TEST_CASE("a cap hit in backward crosses the autograd engine as the same error", "[memory]") {
  install_counting_allocator();
  const auto x = torch::randn({250000}, torch::requires_grad());
  // Backward needs more than forward: both products' gradients, then their sum.
  auto run = [&x](std::uint64_t cap) {
    MemoryScope scope(cap);
    auto loss = (x * x).sum();
    const std::uint64_t forward_peak = scope.peak_bytes();
    loss.backward();
    return std::make_pair(forward_peak, scope.peak_bytes());
  };
  const auto [forward_peak, peak] = run(MemoryScope::kUnlimited);
  REQUIRE(peak > forward_peak);
  x.mutable_grad().reset();
  const std::uint64_t before = live_bytes();
  try {
    run(forward_peak + (peak - forward_peak) / 2);
    FAIL("backward fit under a cap below its peak");
  } catch (const std::exception& e) {
    INFO(e.what());
    CHECK(is_memory_cap_error(e));
    CHECK(dynamic_cast<const c10::OutOfMemoryError*>(&e) != nullptr);
  }
  CHECK(live_bytes() == before);
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("counts stay exact with intra-op and other threads allocating", "[memory]") {
  install_counting_allocator();
  const int threads_before = torch::get_num_threads();
  torch::set_num_threads(2);
  const std::uint64_t before = live_bytes();
  {
    MemoryScope scope(MemoryScope::kUnlimited);
    for (int i = 0; i < 20; ++i) {
      const auto a = torch::randn({256, 256});
      const auto b = a.matmul(a).relu().sum();
      at::parallel_for(0, 64, 1, [](std::int64_t begin, std::int64_t end) {
        for (std::int64_t j = begin; j < end; ++j) torch::empty({1000 + j}).fill_(1.0);
      });
    }
    auto churn = [] {
      for (int j = 0; j < 2000; ++j) torch::empty({1 + j % 97});
    };
    std::thread t1(churn), t2(churn);
    t1.join();
    t2.join();
    CHECK(scope.live_bytes() == 0);
    CHECK(scope.peak_bytes() >= 3 * 256 * 256 * 4);
  }
  CHECK(live_bytes() == before);
  torch::set_num_threads(threads_before);
}

// Not a check: prints the measured footprint next to cost.hpp's estimate.
// Run with: mm_tests "[measure]"
TEST_CASE("measured training footprint vs the analytic estimate", "[.][measure]") {
  install_counting_allocator();
  std::printf("mkldnn available: %d, threads %d\n", int(at::hasMKLDNN()), torch::get_num_threads());
  struct Case {
    const char* name;
    ModelSpec spec;
    std::vector<int> batches;
  };
  const std::vector<Case> cases = {
      {"cnn w1", make_cnn(1, 28, 10, 1.0), {1, 32, 128}},
      {"cnn w0.5", make_cnn(1, 28, 10, 0.5), {32, 128}},
      {"cnn cifar w1", make_cnn(3, 32, 10, 1.0), {32}},
      {"vgg11 w0.25", make_vgg(11, 3, 32, 10, 0.25, false), {32}},
      {"resnet18 w0.25", make_resnet18(3, 32, 10, 0.25, false), {32}},
      {"transformer tiny", make_transformer_lm(transformer_preset("tiny", 256, 64), 1.0), {8, 32}},
  };
  for (const Case& c : cases) {
    for (int batch : c.batches) {
      const StepMemory m = training_steps(c.spec, batch, MemoryScope::kUnlimited);
      const std::uint64_t steady = training_steps(c.spec, batch, MemoryScope::kUnlimited, 3).peak;
      const MemoryFootprint est = training_memory(c.spec, batch, true);
      std::printf("%-17s batch %3d: estimate %10llu (w %llu g %llu opt %llu act %llu) | peak %10llu (built %llu, "
                  "fwd peak %llu, after fwd %llu, after step %llu) | estimate/peak %.2f | 3-step peak %llu, estimate/peak %.2f\n",
                  c.name, batch, (unsigned long long)est.total(), (unsigned long long)est.weights,
                  (unsigned long long)est.gradients, (unsigned long long)est.optimizer,
                  (unsigned long long)est.activations, (unsigned long long)m.peak,
                  (unsigned long long)m.after_build, (unsigned long long)m.forward_peak,
                  (unsigned long long)m.after_forward,
                  (unsigned long long)m.after_step, double(est.total()) / double(m.peak), (unsigned long long)steady,
                  double(est.total()) / double(steady));
    }
  }
}

// The bar: the analytic estimate within ±25% of the measured peak of a task (several
// steps: from the second on, gradients and momentum are alive during the forward pass), for
// the CNN, VGG-11, ResNet-18 and a small Transformer, at two batch sizes each. The printed
// table is the one in docs/PERFORMANCE.md.
TEST_CASE("the memory estimate is within 25% of the measured peak", "[memory]") {
  install_counting_allocator();
  struct Case {
    const char* name;
    ModelSpec spec;
    int batches[2];
  };
  const Case cases[] = {
      {"cnn (fashion-mnist)", make_cnn(1, 28, 10, 1.0), {32, 128}},
      {"vgg11 w0.25 (32x32)", make_vgg(11, 3, 32, 10, 0.25, false), {16, 64}},
      {"resnet18 w0.25 (32x32)", make_resnet18(3, 32, 10, 0.25, false), {16, 64}},
      {"transformer tiny (seq 64)", make_transformer_lm(transformer_preset("tiny", 256, 64), 1.0), {8, 32}},
  };
  for (const Case& c : cases) {
    for (int batch : c.batches) {
      const std::uint64_t peak = training_steps(c.spec, batch, MemoryScope::kUnlimited, 3).peak;
      const std::uint64_t est = training_memory(c.spec, batch, true).total();
      const double ratio = double(est) / double(peak);
      std::printf("| %-26s | %4d | %11llu | %11llu | %.2f |\n", c.name, batch, (unsigned long long)est,
                  (unsigned long long)peak, ratio);
      INFO(c.name << " batch " << batch << ": estimate " << est << " B, measured peak " << peak << " B");
      CHECK(ratio >= 0.75);
      CHECK(ratio <= 1.25);
    }
  }
}

TEST_CASE("accounts charged in turns keep each one's own tensors, freed whenever", "[memory]") {
  install_counting_allocator();
  MemoryAccount a, b;
  torch::Tensor ta, tb, ta2;
  {
    const MemoryAccount::Charging c(a);
    ta = torch::empty({1000}, torch::kFloat32);  // 4000 bytes to a
    CHECK_THROWS_AS(MemoryScope(MemoryScope::kUnlimited), std::logic_error);  // one meter at a time
  }
  {
    const MemoryAccount::Charging c(b);
    tb = torch::empty({500}, torch::kFloat32);  // 2000 bytes to b
  }
  CHECK(a.live_bytes() == 4000);
  CHECK(b.live_bytes() == 2000);
  {
    const MemoryAccount::Charging c(b);
    ta = torch::Tensor();  // freed while b charges: credited to a, its owner
  }
  CHECK(a.live_bytes() == 0);
  CHECK(a.peak_bytes() == 4000);
  CHECK(b.live_bytes() == 2000);
  a.reset_peak();
  CHECK(a.peak_bytes() == 0);
  {
    const MemoryAccount::Charging c(a);
    ta2 = torch::empty({250}, torch::kFloat32);
  }
  CHECK(a.peak_bytes() == 1000);
  const torch::Tensor outside = torch::empty({100}, torch::kFloat32);  // no meter open: nobody's
  CHECK(a.live_bytes() == 1000);
  CHECK(b.live_bytes() == 2000);
}
