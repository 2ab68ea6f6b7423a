// MSfusion's double-shifting split (Xie & Li 2024, reconstructed: algo/msfusion_split.hpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "edgesim/algo/msfusion_split.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/zoo.hpp"

using namespace edgesim;

namespace {
std::vector<std::int64_t> window(int d, int n, int N, double mu, int t, int shift = 1) {
  SplitWindow w;
  w.participant = n, w.participants = N, w.length = mu, w.round = t, w.shift = shift;
  return window_units(d, w);
}
}  // namespace

TEST_CASE("MSfusion windows: start (n·d/N + t·ζ) mod d, ceil(μ·d) units, wrapping around", "[msfusion]") {
  // d = 8 units, N = 4 participants, μ = 0.5: starts 0, 2, 4, 6 in round 0; the last wraps.
  CHECK(window(8, 0, 4, 0.5, 0) == std::vector<std::int64_t>{0, 1, 2, 3});
  CHECK(window(8, 1, 4, 0.5, 0) == std::vector<std::int64_t>{2, 3, 4, 5});
  CHECK(window(8, 3, 4, 0.5, 0) == std::vector<std::int64_t>{6, 7, 0, 1});
  // Round 1 shifts every window by ζ = 1; round 8 is back at round 0's.
  CHECK(window(8, 3, 4, 0.5, 1) == std::vector<std::int64_t>{7, 0, 1, 2});
  CHECK(window(8, 3, 4, 0.5, 8) == window(8, 3, 4, 0.5, 0));
  // ζ = 0: no inter-round shift.
  CHECK(window(8, 1, 4, 0.5, 5, 0) == window(8, 1, 4, 0.5, 0));
  // ceil: 0.3 of 10 units is 3; a sliver keeps at least one unit.
  CHECK(window(10, 0, 2, 0.3, 0).size() == 3);
  CHECK(window(10, 0, 2, 0.01, 0).size() == 1);
  // An uneven width: starts floor(n·d/N) = 0, 2, 5 for d = 7, N = 3.
  CHECK(window(7, 1, 3, 0.4, 0).front() == 2);
  CHECK(window(7, 2, 3, 0.4, 0).front() == 4);
}

TEST_CASE("MSfusion windows of one round cover every unit when μ ≥ 1/N, and not below", "[msfusion]") {
  for (int d : {7, 16, 64})
    for (int N : {2, 3, 4, 8})
      for (int t : {0, 3}) {
        std::set<std::int64_t> covered, thin;
        for (int n = 0; n < N; ++n) {
          for (auto u : window(d, n, N, 1.0 / N, t)) covered.insert(u);
          for (auto u : window(d, n, N, 0.5 / N, t)) thin.insert(u);
        }
        INFO("d " << d << " N " << N << " t " << t);
        CHECK(static_cast<int>(covered.size()) == d);
        if (d >= 2 * N) CHECK(static_cast<int>(thin.size()) < d);
      }
}

TEST_CASE("MSfusion peers' common entries: per tensor, the product of the units both hold", "[msfusion]") {
  // conv 1x1: 2 input channels -> group c of 4 units (weight [4,2,1,1], bias [4]); flatten;
  // linear -> 3 classes (weight [3,4], bias [3]).
  ModelSpec s;
  SpecBuilder b(s, 2, 1, 1);
  b.conv(b.group("c", 4), 1, 1, 0);
  b.flatten();
  b.linear(b.group("classes", 3, 1, false));
  SubmodelSpec x = full_submodel(s), y = full_submodel(s);
  x.kept[1] = {0, 1};
  y.kept[1] = {1, 2};
  // One channel in common: conv weight 2 + bias 1, linear weight 3 × 1, linear bias 3 (kept by all).
  CHECK(common_entries(s, x, y) == 2 + 1 + 3 + 3);
  CHECK(common_entries(s, x, x) == static_cast<std::int64_t>(gather_index(s, x).size()));

  // On a zoo model, against the intersection of the gather indices.
  const ModelSpec cnn = make_cnn(1, 28, 10, 0.5);
  SplitWindow w;
  w.participants = 4, w.length = 0.5, w.round = 2;
  const SubmodelSpec a = split_submodel(cnn, w);
  w.participant = 1;
  const SubmodelSpec c = split_submodel(cnn, w);
  std::vector<std::int64_t> ga = gather_index(cnn, a), gc = gather_index(cnn, c), both;
  std::sort(ga.begin(), ga.end());
  std::sort(gc.begin(), gc.end());
  std::set_intersection(ga.begin(), ga.end(), gc.begin(), gc.end(), std::back_inserter(both));
  CHECK(common_entries(cnn, a, c) == static_cast<std::int64_t>(both.size()));
}
