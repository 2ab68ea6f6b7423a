// Random streams are reproducible, independent per (purpose, device, round), and unbiased.
#include <catch2/catch.hpp>

#include <cmath>

#include "edgesim/common/rng.hpp"

using namespace edgesim;

TEST_CASE("a stream is a pure function of (seed, purpose, a, b)", "[rng]") {
  Rng a(7, Purpose::kShuffle, 3, 5), b(7, Purpose::kShuffle, 3, 5);
  for (int i = 0; i < 100; ++i) REQUIRE(a.next() == b.next());
  CHECK(Rng(7, Purpose::kShuffle, 3, 5).next() != Rng(7, Purpose::kShuffle, 5, 3).next());
  CHECK(Rng(7, Purpose::kShuffle, 3, 5).next() != Rng(8, Purpose::kShuffle, 3, 5).next());
  CHECK(Rng(7, Purpose::kShuffle, 3, 5).next() != Rng(7, Purpose::kSelection, 3, 5).next());
}

TEST_CASE("uniform, below and gamma have the right moments", "[rng]") {
  Rng r(1);
  const int n = 200000;
  double su = 0, sg = 0;
  std::vector<int> counts(7);
  for (int i = 0; i < n; ++i) {
    su += r.uniform();
    counts[r.below(7)]++;
    sg += r.gamma(0.3);
  }
  CHECK(su / n == Approx(0.5).margin(0.005));
  CHECK(sg / n == Approx(0.3).margin(0.01));  // mean of Gamma(k, 1) is k
  for (int c : counts) CHECK(c == Approx(n / 7.0).epsilon(0.03));
  const auto p = r.dirichlet(0.5, 10);
  double sum = 0;
  for (double x : p) sum += x;
  CHECK(sum == Approx(1.0));
}

#include "edgesim/runtime/event_queue.hpp"

TEST_CASE("the event queue pops by virtual time, ties by device", "[runtime]") {
  EventQueue q;
  q.push({3.0, 1, 0});
  q.push({1.0, 7, 1});
  q.push({3.0, 0, 2});
  q.push({2.0, 5, 3});
  std::vector<std::size_t> order;
  while (!q.empty()) order.push_back(q.pop().task);
  CHECK(order == std::vector<std::size_t>{1, 3, 2, 0});
}
