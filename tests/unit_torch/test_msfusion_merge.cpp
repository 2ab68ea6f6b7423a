// MSfusion's overlap aggregation and its peer-to-peer byte accounting (algo/msfusion.hpp,
// docs/ALGORITHMS.md "MSfusion") on a hand case: three participants of a CNN at width 0.25
// (conv1 4 channels, conv2 8, fc1 32), each with split μ = 0.5 under a fixed overlap level 1,
// so every window is half of each group. Round 1 (t = 0), gap 1/3, starts floor(n·d/3):
//   conv1 (d 4):  n0 {0,1}        n1 {1,2}        n2 {2,3}
//   conv2 (d 8):  n0 {0,1,2,3}    n1 {2,3,4,5}    n2 {5,6,7,0}
// Each participant's "trained" update is the global value of its window plus its own offset
// (1, 2, 4): every subset of participants then has a distinct mean offset, so a merged entry
// tells which participants it was averaged over.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "edgesim/algo/msfusion.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/runtime/task_clock.hpp"

using namespace edgesim;

namespace {

constexpr int kParticipants = 3;
const double kOffset[kParticipants] = {1.0, 2.0, 4.0};

Experiment three_participants() {
  return Experiment::build(load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=synthetic", "data.synthetic_channels=1", "data.synthetic_size=28", "data.train_samples=60",
       "data.test_samples=20", "devices.count=3", "devices.memory=estimated", "model.width=0.25",
       "algorithm.name=msfusion", "algorithm.rates=0.5", "algorithm.msfusion_overlap=fixed"}));
}

// Flat offset of parameter `index` (parameters, then buffers: the flat weights' layout).
std::int64_t offset_of(const ModelSpec& s, std::size_t index) {
  std::int64_t at = 0;
  const auto params = s.parameters();
  for (std::size_t p = 0; p < index; ++p) {
    std::int64_t n = 1;
    for (const ParamDim& d : params[p].dims) n *= s.extent(d);
    at += n;
  }
  return at;
}

std::vector<std::int64_t> shape_of(const ModelSpec& s, std::size_t index) {
  std::vector<std::int64_t> out;
  const auto params = s.parameters();  // a copy: iterating a temporary's member would dangle
  for (const ParamDim& d : params[index].dims) out.push_back(s.extent(d));
  return out;
}

// Which participants' windows (gather indices) hold each global entry.
std::vector<std::vector<int>> trainers_per_entry(std::int64_t size, const std::vector<std::vector<std::int64_t>>& gathers) {
  std::vector<std::vector<int>> out(static_cast<std::size_t>(size));
  for (int n = 0; n < static_cast<int>(gathers.size()); ++n)
    for (std::int64_t i : gathers[n]) out[static_cast<std::size_t>(i)].push_back(n);
  return out;
}

double mean_offset(const std::vector<int>& who) {
  double s = 0;
  for (int n : who) s += kOffset[n];
  return s / static_cast<double>(who.size());
}

std::int64_t common(std::vector<std::int64_t> a, std::vector<std::int64_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  std::vector<std::int64_t> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return static_cast<std::int64_t>(both.size());
}

struct Round {
  std::vector<TaskPlan> plans;
  std::vector<std::vector<std::int64_t>> gathers;
};

Round plan_round(MsFusion& policy, const Experiment& e, int round) {
  Round r;
  for (int d = 0; d < kParticipants; ++d) {
    r.plans.push_back(policy.plan(d, round));
    REQUIRE(r.plans.back().submodel);
    r.gathers.push_back(gather_index(e.model, *r.plans.back().submodel));
  }
  return r;
}

// Participant n's result: its window of `global` plus its offset.
std::vector<TaskResult> results(const Round& r, const torch::Tensor& global, int round) {
  std::vector<TaskResult> out(kParticipants);
  for (int n = 0; n < kParticipants; ++n) {
    TaskResult& t = out[n];
    t.device = n, t.round = round, t.status = TaskStatus::kOk, t.local_samples = 20 + 10 * n;  // unequal: uniform must ignore it
    t.gather = gather_tensor(r.gathers[n]);
    t.weights = extract_submodel(global, t.gather) + static_cast<float>(kOffset[n]);
  }
  return out;
}

}  // namespace

TEST_CASE("MSfusion merge: each entry is the mean over the participants whose windows hold it", "[msfusion]") {
  const Experiment e = three_participants();
  // The hand case below assumes this layout (the spec keeps a conv kernel flat: out x in x k·k):
  // conv1.weight [4,1,25], conv1.bias [4], conv2.weight [8,4,25].
  REQUIRE(shape_of(e.model, 0) == std::vector<std::int64_t>{4, 1, 25});
  REQUIRE(shape_of(e.model, 1) == std::vector<std::int64_t>{4});
  REQUIRE(shape_of(e.model, 2) == std::vector<std::int64_t>{8, 4, 25});
  MsFusion policy(e);
  const Round r = plan_round(policy, e, 1);
  for (int n = 0; n < kParticipants; ++n) CHECK(r.plans[n].submodel->rate == Approx(0.5));

  torch::manual_seed(3);
  const torch::Tensor before = torch::randn({e.model.state_count()});
  torch::Tensor global = before.clone();
  const std::vector<TaskResult> tasks = results(r, before, 1);
  std::vector<const TaskResult*> accepted;
  for (const auto& t : tasks) accepted.push_back(&t);
  policy.merge(global, accepted);
  REQUIRE(global.numel() == before.numel());
  const float* g = global.data_ptr<float>();
  const float* b = before.data_ptr<float>();

  // Worked by hand from the windows above (offsets 1, 2, 4):
  //   conv1.bias[c] is trained by the participants whose conv1 window holds c:
  //   c0 {n0} → +1, c1 {n0,n1} → +1.5, c2 {n1,n2} → +3, c3 {n2} → +4.
  const std::int64_t bias1 = offset_of(e.model, 1);
  const double bias_shift[4] = {1.0, 1.5, 3.0, 4.0};
  for (int c = 0; c < 4; ++c) {
    INFO("conv1.bias[" << c << "]");
    CHECK(g[bias1 + c] == Approx(b[bias1 + c] + bias_shift[c]).margin(1e-5));
  }
  //   conv2.weight[o][i][0][0] needs output channel o and input channel i in one window:
  //   (2,1): o2 ∈ n0,n1 and i1 ∈ n0,n1 → {n0,n1}, +1.5;  (0,3): o0 ∈ n0,n2, i3 ∈ n2 → {n2}, +4;
  //   (5,2): o5 ∈ n1,n2, i2 ∈ n1,n2 → {n1,n2}, +3;       (4,0): o4 ∈ n1 only, i0 ∈ n0 only → nobody.
  const std::int64_t w2 = offset_of(e.model, 2);
  auto at = [&](int o, int i) { return w2 + o * 100 + i * 25; };
  CHECK(g[at(2, 1)] == Approx(b[at(2, 1)] + 1.5).margin(1e-5));
  CHECK(g[at(0, 3)] == Approx(b[at(0, 3)] + 4.0).margin(1e-5));
  CHECK(g[at(5, 2)] == Approx(b[at(5, 2)] + 3.0).margin(1e-5));
  CHECK(g[at(4, 0)] == b[at(4, 0)]);  // nobody trained it: untouched, bit for bit
  //   The classifier's bias (classes are not sliced) is in every window: +(1+2+4)/3.
  const std::int64_t last_bias = e.model.parameter_count() - e.model.num_classes;
  CHECK(g[last_bias] == Approx(b[last_bias] + 7.0 / 3).margin(1e-5));

  // Every entry, against the windows' membership counted here.
  const auto who = trainers_per_entry(global.numel(), r.gathers);
  std::int64_t untouched = 0, mismatched = 0;
  std::set<std::size_t> sizes;
  for (std::int64_t i = 0; i < global.numel(); ++i) {
    const auto& w = who[static_cast<std::size_t>(i)];
    sizes.insert(w.size());
    if (w.empty()) {
      ++untouched;
      if (g[i] != b[i]) ++mismatched;
    } else if (std::abs(g[i] - (b[i] + mean_offset(w))) > 1e-5) {
      ++mismatched;
    }
  }
  CHECK(mismatched == 0);
  // The case exercises every kind of entry: nobody's, one participant's, shared by two and all three.
  CHECK(untouched > 0);
  CHECK(sizes == std::set<std::size_t>{0, 1, 2, 3});
}

TEST_CASE("MSfusion traffic: uploads carry 4 B per entry two windows share; downloads come from the holders", "[msfusion]") {
  const Experiment e = three_participants();
  MsFusion policy(e);
  const Round r1 = plan_round(policy, e, 1);

  for (int n = 0; n < kParticipants; ++n) {
    const TaskPlan& p = r1.plans[n];
    INFO("participant " << n);
    CHECK(p.serverless);
    // Round 1: every window still holds the seed's values, which each participant generates itself.
    CHECK(p.downloads.empty());
    // One upload to every peer it shares entries with (here all: the classifier bias is in every
    // window), of exactly the shared entries; none to itself or to a server.
    std::map<int, std::uint64_t> to;
    for (const Transfer& x : p.uploads) {
      CHECK(x.source == n);
      CHECK(x.destination != n);
      CHECK(x.destination != kServer);
      to[x.destination] += x.bytes;
    }
    CHECK(to.size() == p.uploads.size());  // one transfer per peer
    for (int m = 0; m < kParticipants; ++m) {
      if (m == n) continue;
      INFO("peer " << m);
      const std::int64_t shared = common(r1.gathers[n], r1.gathers[m]);
      REQUIRE(shared > 0);
      CHECK(to[m] == 4 * static_cast<std::uint64_t>(shared));
    }
  }

  // After round 1's merge, the holder of an entry is the lowest-numbered participant that trained it.
  torch::manual_seed(5);
  torch::Tensor global = torch::randn({e.model.state_count()});
  const std::vector<TaskResult> tasks = results(r1, global, 1);
  std::vector<const TaskResult*> accepted;
  for (const auto& t : tasks) accepted.push_back(&t);
  policy.merge(global, accepted);
  const auto who = trainers_per_entry(global.numel(), r1.gathers);
  std::map<int, std::uint64_t> held;
  for (const auto& w : who)
    if (!w.empty()) held[*std::min_element(w.begin(), w.end())] += 4;
  std::map<int, std::uint64_t> assembled;
  for (const Transfer& x : policy.assembly_transfers()) {
    CHECK(x.destination == kServer);
    assembled[x.source] += x.bytes;
  }
  CHECK(assembled == held);

  // Round 2 (every window shifted by one unit): a participant downloads the entries of its new
  // window that were not in its old one and that someone trained, each from that entry's holder.
  const Round r2 = plan_round(policy, e, 2);
  for (int n = 0; n < kParticipants; ++n) {
    INFO("participant " << n);
    const std::set<std::int64_t> old(r1.gathers[n].begin(), r1.gathers[n].end());
    std::map<int, std::uint64_t> expected;
    for (std::int64_t i : r2.gathers[n]) {
      const auto& w = who[static_cast<std::size_t>(i)];
      if (old.count(i) || w.empty()) continue;
      const int holder = *std::min_element(w.begin(), w.end());
      if (holder != n) expected[holder] += 4;
    }
    std::map<int, std::uint64_t> got;
    for (const Transfer& x : r2.plans[n].downloads) {
      CHECK(x.destination == n);
      got[x.source] += x.bytes;
    }
    CHECK(got == expected);
    CHECK(!got.empty());  // the shift moved every window onto entries a peer trained
    for (int m = 0; m < kParticipants; ++m) {
      if (m == n) continue;
      std::uint64_t up = 0;
      for (const Transfer& x : r2.plans[n].uploads)
        if (x.destination == m) up += x.bytes;
      CHECK(up == 4 * static_cast<std::uint64_t>(common(r2.gathers[n], r2.gathers[m])));
    }
  }
}

// The round's tasks are timed together (runtime/task_clock.hpp): a participant receiving two
// peers' uploads at once splits its downlink between them.
TEST_CASE("MSfusion timing: uploads into one participant share its downlink", "[msfusion]") {
  const Experiment e = three_participants();
  MsFusion policy(e);
  const Round r1 = plan_round(policy, e, 1);
  torch::Tensor global = torch::zeros({e.model.state_count()});
  std::vector<TaskResult> together = results(r1, global, 1), alone = together;
  // No compute (the devices' speeds differ): every upload starts at 0, as the round does.
  for (auto& t : together) t.reference_compute_s = 0;
  for (auto& t : alone) t.reference_compute_s = 0;
  // Fast uplinks, 1 Mbit/s downlinks, no latency: the receivers' downlinks are the bottleneck.
  const std::vector<LinkProfile> links(kParticipants, LinkProfile{1e6, 1.0, 0.0});
  std::vector<const TaskPlan*> plans;
  std::vector<TaskResult*> tasks;
  for (int n = 0; n < kParticipants; ++n) plans.push_back(&r1.plans[n]), tasks.push_back(&together[n]);
  apply_clock_together(e, links, plans, std::vector<double>(kParticipants, 0.0), std::vector<std::int64_t>(kParticipants, 1), tasks);
  for (int n = 0; n < kParticipants; ++n) apply_clock(e, links, r1.plans[n], 0.0, 1, alone[n]);

  const double upload_start = 0;
  for (int m = 0; m < kParticipants; ++m) {
    INFO("receiver " << m);
    std::uint64_t bytes = 0;
    double last = 0;
    for (const TaskResult& t : together)
      for (const TransferRecord& x : t.transfers)
        if (x.destination == m) {
          CHECK(x.start_s == upload_start);
          bytes += static_cast<std::uint64_t>(x.bytes), last = std::max(last, x.end_s);
        }
    // Max-min sharing keeps the downlink busy: the last upload ends when all its bytes are in.
    CHECK(last == Approx(upload_start + 8.0 * static_cast<double>(bytes) / 1e6).epsilon(1e-12));
  }
  bool slowed = false;
  for (int n = 0; n < kParticipants; ++n) {
    REQUIRE(together[n].transfers.size() == alone[n].transfers.size());
    for (std::size_t i = 0; i < alone[n].transfers.size(); ++i) {
      CHECK(together[n].transfers[i].end_s >= alone[n].transfers[i].end_s);
      slowed |= together[n].transfers[i].end_s > alone[n].transfers[i].end_s;
    }
    CHECK(together[n].end_s == together[n].start_s + together[n].compute_s + together[n].upload_s);
    CHECK(together[n].upload_s >= alone[n].upload_s);
  }
  CHECK(slowed);
  // One task alone is apply_clock exactly.
  TaskResult single = results(r1, global, 1)[0];
  single.reference_compute_s = 0.125;
  alone[0].reference_compute_s = 0.125;
  apply_clock(e, links, r1.plans[0], 0.0, 1, alone[0]);
  apply_clock_together(e, links, {&r1.plans[0]}, {0.0}, {1}, {&single});
  CHECK(single.end_s == alone[0].end_s);
  CHECK(single.upload_s == alone[0].upload_s);
}
