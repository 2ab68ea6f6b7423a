// time_transfers against hand-worked max-min fair sharing, and bit-for-bit against
// transfer_seconds wherever a transfer is alone on its links.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "edgesim/device/clock.hpp"
#include "edgesim/device/transfer.hpp"

using namespace edgesim;

namespace {

LinkProfile link(double up, double down, double latency_s = 0) { return {up, down, latency_s}; }

// Fast links that never limit the transfers under test.
LinkProfile fast() { return link(1e6, 1e6); }

constexpr double kEps = 1e-12;

}  // namespace

TEST_CASE("star: every device <-> server transfer takes exactly transfer_seconds", "[transfer]") {
  // Odd numbers, so any other floating-point expression would show in the last bits.
  std::vector<DeviceProfile> devices(4);
  const double ups[] = {37.3, 10.0, 7.77, 123.4}, downs[] = {41.9, 20.0, 3.3, 99.1};
  const double lats[] = {0.0123, 0.0, 0.1, 0.0047};
  for (int d = 0; d < 4; ++d) {
    devices[d].uplink_mbps = ups[d];
    devices[d].downlink_mbps = downs[d];
    devices[d].latency_s = lats[d];
  }
  const std::uint64_t down_bytes = 4812345, up_bytes = 1234567;
  std::vector<Transfer> ts;
  for (int d = 0; d < 4; ++d) {
    ts.push_back({kServer, d, down_bytes});
    ts.push_back({d, kServer, up_bytes});
  }
  const double start = 12.345;
  const auto timing = time_transfers(ts, links_of(devices), start);
  REQUIRE(timing.size() == ts.size());
  for (int d = 0; d < 4; ++d) {
    const TaskTiming task = time_task(devices[d], 0.0, down_bytes, up_bytes);
    const TransferTiming& down = timing[2 * d];
    const TransferTiming& up = timing[2 * d + 1];
    CHECK(down.start_s == start);
    CHECK(down.duration_s == transfer_seconds(down_bytes, downs[d], lats[d]));
    CHECK(down.duration_s == task.download_s);
    CHECK(down.end_s == start + task.download_s);
    CHECK(up.duration_s == transfer_seconds(up_bytes, ups[d], lats[d]));
    CHECK(up.duration_s == task.upload_s);
    CHECK(up.end_s == start + task.upload_s);
  }
}

TEST_CASE("peer to peer alone: the slower link and the larger latency, exactly", "[transfer]") {
  const std::vector<LinkProfile> links = {link(50.5, 1000, 0.01), link(1000, 20.2, 0.03)};
  const auto t = time_transfers({{0, 1, 777777}}, links, 1.5);
  CHECK(t[0].duration_s == transfer_seconds(777777, 20.2, 0.03));
  CHECK(t[0].end_s == 1.5 + transfer_seconds(777777, 20.2, 0.03));
  // The other way: A's downlink and B's uplink are fast, so the latency alone differs.
  const auto back = time_transfers({{1, 0, 777777}}, links, 0.0);
  CHECK(back[0].duration_s == transfer_seconds(777777, 1000, 0.03));
}

TEST_CASE("shared uplink: A sends to B and C at once", "[transfer]") {
  // A's uplink 80 Mbit/s, B and C receive fast. Both get 40 until A->B's 8 Mbit are done at
  // 0.2 s; A->C has sent 8 of its 16 Mbit and sends the other 8 at 80: ends at 0.3 s.
  const std::vector<LinkProfile> links = {link(80, 1e6), fast(), fast()};
  const auto t = time_transfers({{0, 1, 1000000}, {0, 2, 2000000}}, links, 10.0);
  CHECK(t[0].end_s == Approx(10.2).margin(kEps));
  CHECK(t[1].end_s == Approx(10.3).margin(kEps));
  CHECK(t[1].duration_s == Approx(0.3).margin(kEps));
  CHECK(t[1].duration_s > transfer_seconds(2000000, 80, 0));  // alone it would take 0.2 s
}

TEST_CASE("shared downlink: B and C send to A at once, with latency", "[transfer]") {
  // A's downlink 60, everyone's latency 10 ms: bytes flow from 0.01 s, 30 each. C->A's
  // 12 Mbit end at 0.41 s; B->A has 12 of 24 Mbit left, at 60: 0.2 s more, ends at 0.61 s.
  const std::vector<LinkProfile> links = {link(1e6, 60, 0.01), link(1e6, 1e6, 0.01), link(1e6, 1e6, 0.01)};
  const auto t = time_transfers({{1, 0, 3000000}, {2, 0, 1500000}}, links, 0.0);
  CHECK(t[0].end_s == Approx(0.61).margin(kEps));
  CHECK(t[1].end_s == Approx(0.41).margin(kEps));
}

TEST_CASE("max-min: a transfer capped elsewhere leaves its share to the others", "[transfer]") {
  // A(0) up 100 sends to B(1) (down 30) and C(2) (down 90); D(3) (up 1000) also sends to C.
  // Filling: B's downlink fills first, A->B = 30; then C's downlink: A->C = D->C = 45 (A's
  // uplink keeps 25 unused, C's downlink is the bottleneck). D->C's 4.5 Mbit end at 0.1 s;
  // then A->C gets min(100 - 30, 90) = 70: its 39.5 Mbit (4.5 sent) end at 0.1 + 35/70 =
  // 0.6 s. A->B ran at its lone rate (30) throughout: exactly transfer_seconds, 1.0 s.
  const std::vector<LinkProfile> links = {link(100, 1e6), link(1e6, 30), link(1e6, 90), link(1000, 1e6)};
  const std::vector<Transfer> ts = {{0, 1, 3750000}, {0, 2, 4937500}, {3, 2, 562500}};
  const auto t = time_transfers(ts, links, 0.0);
  CHECK(t[2].end_s == Approx(0.1).margin(kEps));
  CHECK(t[1].end_s == Approx(0.6).margin(kEps));
  CHECK(t[0].duration_s == transfer_seconds(3750000, 30, 0));
  CHECK(t[0].end_s == Approx(1.0).margin(kEps));
}

TEST_CASE("a transfer whose latency is longer joins the link when its bytes start", "[transfer]") {
  // A up 80 sends 16 Mbit to B (no latency) and 8 Mbit to C (latency 0.1 s). A->B alone
  // sends 8 Mbit by 0.1 s; then 40 each: both have 8 Mbit left and end together at 0.3 s.
  const std::vector<LinkProfile> links = {link(80, 1e6), fast(), link(1e6, 1e6, 0.1)};
  const auto t = time_transfers({{0, 1, 2000000}, {0, 2, 1000000}}, links, 0.0);
  CHECK(t[0].end_s == Approx(0.3).margin(kEps));
  CHECK(t[1].end_s == Approx(0.3).margin(kEps));
}

TEST_CASE("a limited server link is shared like a device's", "[transfer]") {
  // Four devices (up 50) upload 8 Mbit each to a server whose downlink is 100: 25 each, 0.32 s.
  const std::vector<LinkProfile> links(4, link(50, 50));
  ServerLink server;
  server.downlink_mbps = 100;
  std::vector<Transfer> ts;
  for (int d = 0; d < 4; ++d) ts.push_back({d, kServer, 1000000});
  for (const auto& t : time_transfers(ts, links, 0.0, server)) CHECK(t.end_s == Approx(0.32).margin(kEps));
  // One device alone is limited by the slower of its uplink and the server's downlink.
  server.downlink_mbps = 20;
  CHECK(time_transfers({ts[0]}, links, 0.0, server)[0].duration_s == transfer_seconds(1000000, 20, 0));
}

TEST_CASE("zero bytes: latency only, and no share of the link", "[transfer]") {
  const std::vector<LinkProfile> links = {link(80, 80, 0.02), link(80, 80, 0.05)};
  const auto t = time_transfers({{0, kServer, 0}, {0, 1, 0}, {0, kServer, 1000000}}, links, 3.0);
  CHECK(t[0].duration_s == 0.02);
  CHECK(t[0].end_s == 3.0 + 0.02);
  CHECK(t[1].duration_s == 0.05);
  // The empty transfers on A's uplink did not slow the real one.
  CHECK(t[2].duration_s == transfer_seconds(1000000, 80, 0.02));
  CHECK(time_transfers({}, links, 0.0).empty());
}

TEST_CASE("the order of the transfers does not change any transfer's timing", "[transfer]") {
  const std::vector<LinkProfile> links = {link(33.3, 71.1, 0.003), link(12.7, 55.5, 0.011),
                                          link(90.1, 17.9, 0.0), link(45.6, 45.6, 0.007)};
  std::vector<Transfer> ts = {{0, 1, 1234567}, {0, 2, 7654321}, {1, 2, 999999}, {3, 2, 424242},
                              {kServer, 3, 3141592}, {2, kServer, 2718281}, {0, 1, 1234567},
                              {3, 0, 0}, {1, kServer, 5555555}};
  const auto reference = time_transfers(ts, links, 2.25);
  std::vector<std::size_t> order(ts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (int perm = 0; perm < 3; ++perm) {
    if (perm == 0) std::reverse(order.begin(), order.end());
    else std::rotate(order.begin(), order.begin() + 4, order.end());
    std::vector<Transfer> shuffled;
    for (std::size_t i : order) shuffled.push_back(ts[i]);
    const auto t = time_transfers(shuffled, links, 2.25);
    for (std::size_t k = 0; k < order.size(); ++k) {
      CHECK(t[k].start_s == reference[order[k]].start_s);
      CHECK(t[k].end_s == reference[order[k]].end_s);
      CHECK(t[k].duration_s == reference[order[k]].duration_s);
    }
  }
  // The duplicate transfers 0 and 6 are interchangeable, so they end together.
  CHECK(reference[0].end_s == reference[6].end_s);
}

TEST_CASE("time_transfers rejects bad endpoints and links", "[transfer]") {
  const std::vector<LinkProfile> links = {fast(), fast()};
  CHECK_THROWS_AS(time_transfers({{0, 2, 1}}, links, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(time_transfers({{-2, 0, 1}}, links, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(time_transfers({{1, 1, 1}}, links, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(time_transfers({{kServer, kServer, 1}}, links, 0.0), std::invalid_argument);
  CHECK_THROWS_AS(time_transfers({{0, 1, 1}}, {fast(), link(10, 0)}, 0.0), std::invalid_argument);
  ServerLink server;
  server.uplink_mbps = 0;
  CHECK_THROWS_AS(time_transfers({{kServer, 0, 1}}, links, 0.0, server), std::invalid_argument);
}

TEST_CASE("staggered starts: a transfer shares a link only while it flows", "[transfer]") {
  // B's downlink 100 Mbit/s. A->B's 10 Mbit start at 0; C->B's 10 Mbit at 0.05 s, when A->B
  // has 5 Mbit left: both at 50 until A->B ends at 0.15 s; C->B has sent 5, sends the other 5
  // at 100, ends at 0.2 s.
  const std::vector<LinkProfile> links = {fast(), link(1e6, 100), fast()};
  const std::vector<Transfer> ts = {{0, 1, 1250000}, {2, 1, 1250000}};
  const auto t = time_transfers(ts, {0.0, 0.05}, links);
  CHECK(t[0].start_s == 0.0);
  CHECK(t[1].start_s == 0.05);
  CHECK(t[0].end_s == Approx(0.15).margin(kEps));
  CHECK(t[1].end_s == Approx(0.2).margin(kEps));
  CHECK(t[1].duration_s == Approx(0.15).margin(kEps));
  // Started after the first has ended: nothing slows it, so transfer_seconds exactly.
  const auto later = time_transfers(ts, {0.0, 0.5}, links);
  CHECK(later[0].end_s == transfer_seconds(1250000, 100, 0));
  CHECK(later[1].duration_s == transfer_seconds(1250000, 100, 0));
  CHECK(later[1].end_s == 0.5 + transfer_seconds(1250000, 100, 0));
}

TEST_CASE("staggered starts: equal starts are the one-start call bit for bit, in any order", "[transfer]") {
  const std::vector<LinkProfile> links = {link(33.3, 71.1, 0.003), link(12.7, 55.5, 0.011),
                                          link(90.1, 17.9, 0.0), link(45.6, 45.6, 0.007)};
  const std::vector<Transfer> ts = {{0, 1, 1234567}, {0, 2, 7654321}, {1, 2, 999999}, {3, 2, 424242},
                                    {kServer, 3, 3141592}, {2, kServer, 2718281}, {3, 0, 0}};
  const auto one = time_transfers(ts, links, 2.25);
  const auto each = time_transfers(ts, std::vector<double>(ts.size(), 2.25), links);
  for (std::size_t i = 0; i < ts.size(); ++i) {
    CHECK(each[i].start_s == one[i].start_s);
    CHECK(each[i].end_s == one[i].end_s);
    CHECK(each[i].duration_s == one[i].duration_s);
  }
  // Distinct starts, given in another order: the same timing per transfer.
  const std::vector<double> starts = {0.0, 0.4, 0.1, 0.1, 0.3, 0.0, 0.2};
  const auto reference = time_transfers(ts, starts, links);
  std::vector<Transfer> reversed(ts.rbegin(), ts.rend());
  std::vector<double> reversed_starts(starts.rbegin(), starts.rend());
  const auto t = time_transfers(reversed, reversed_starts, links);
  for (std::size_t i = 0; i < ts.size(); ++i) CHECK(t[ts.size() - 1 - i].end_s == reference[i].end_s);
  // Sharing only slows: no transfer ends before it would alone.
  for (std::size_t i = 0; i < ts.size(); ++i)
    CHECK(reference[i].end_s >= time_transfers({ts[i]}, {starts[i]}, links)[0].end_s - kEps);
  CHECK_THROWS_AS(time_transfers(ts, {0.0}, links), std::invalid_argument);
  CHECK_THROWS_AS(time_transfers({{0, 1, 1}}, {std::nan("")}, links), std::invalid_argument);
}
