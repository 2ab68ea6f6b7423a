#include "edgesim/device/transfer.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

#include "edgesim/device/clock.hpp"

namespace edgesim {

LinkProfile link_of(const DeviceProfile& d) { return {d.uplink_mbps, d.downlink_mbps, d.latency_s}; }

std::vector<LinkProfile> links_of(const std::vector<DeviceProfile>& devices) {
  std::vector<LinkProfile> links;
  links.reserve(devices.size());
  for (const auto& d : devices) links.push_back(link_of(d));
  return links;
}

namespace {

constexpr int kUnlimited = -1;  // resource id of a link that never limits anything

// One transfer during the simulation. Links are numbered 2·device (uplink), 2·device + 1
// (downlink), then the server's uplink and downlink; unlimited ones are not numbered.
struct Flow {
  std::size_t input = 0;  // index in the caller's vector
  Transfer transfer;
  int up = kUnlimited, down = kUnlimited;  // the sender's uplink, the receiver's downlink
  double lone_mbps = 0, latency_s = 0;
  double start_s = 0;       // when it is requested
  double flow_start_s = 0;  // when its bytes start to flow: start + latency
  double remaining_bits = 0;
  double rate_mbps = 0;
  bool active = false, done = false;
  bool slowed = false;  // flowed below its lone rate for some time: not timed by transfer_seconds
};

bool positive(double mbps) { return mbps > 0; }  // false for NaN too

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("time_transfers: " + what); }

// Max-min fair rates for the active flows by progressive filling: raise all rates together;
// a link that fills fixes its flows at its fair share; repeat with the links left.
void share_links(const std::vector<Flow*>& active, const std::vector<double>& capacity) {
  std::vector<double> left = capacity;
  std::vector<int> unfixed(capacity.size(), 0);
  for (Flow* f : active)
    for (int r : {f->up, f->down})
      if (r != kUnlimited) ++unfixed[r];
  auto fix = [&](Flow* f, double rate) {
    f->rate_mbps = rate;
    for (int r : {f->up, f->down})
      if (r != kUnlimited) {
        left[r] = std::max(0.0, left[r] - rate);
        --unfixed[r];
      }
  };
  std::vector<Flow*> waiting;
  // A flow alone on its links gets its lone rate with no filling: the common star case,
  // which keeps a round of N devices at O(N) per event.
  for (Flow* f : active) {
    const bool alone = (f->up == kUnlimited || unfixed[f->up] == 1) &&
                       (f->down == kUnlimited || unfixed[f->down] == 1);
    if (alone) fix(f, f->lone_mbps); else waiting.push_back(f);
  }
  while (!waiting.empty()) {
    double share = std::numeric_limits<double>::infinity();
    for (std::size_t r = 0; r < left.size(); ++r)
      if (unfixed[r] > 0) share = std::min(share, left[r] / unfixed[r]);
    std::vector<bool> bottleneck(left.size(), false);
    for (std::size_t r = 0; r < left.size(); ++r)
      bottleneck[r] = unfixed[r] > 0 && left[r] / unfixed[r] == share;
    std::vector<Flow*> still;
    for (Flow* f : waiting) {
      const bool hit = (f->up != kUnlimited && bottleneck[f->up]) ||
                       (f->down != kUnlimited && bottleneck[f->down]);
      if (hit) fix(f, share); else still.push_back(f);
    }
    waiting.swap(still);
  }
}

}  // namespace

std::vector<TransferTiming> time_transfers(const std::vector<Transfer>& transfers,
                                           const std::vector<LinkProfile>& device_links,
                                           double start_s, const ServerLink& server) {
  return time_transfers(transfers, std::vector<double>(transfers.size(), start_s), device_links, server);
}

std::vector<TransferTiming> time_transfers(const std::vector<Transfer>& transfers, const std::vector<double>& starts,
                                           const std::vector<LinkProfile>& device_links, const ServerLink& server) {
  if (starts.size() != transfers.size()) bad("one start time per transfer");
  for (double t : starts)
    if (!std::isfinite(t)) bad("start times must be finite");
  const int num_devices = static_cast<int>(device_links.size());
  for (const auto& l : device_links)
    if (!positive(l.uplink_mbps) || !positive(l.downlink_mbps) || !std::isfinite(l.uplink_mbps) ||
        !std::isfinite(l.downlink_mbps))
      bad("device link speeds must be finite and > 0");
  if (!positive(server.uplink_mbps) || !positive(server.downlink_mbps)) bad("server link speeds must be > 0");

  std::vector<double> capacity(2 * static_cast<std::size_t>(num_devices) + 2);
  for (int d = 0; d < num_devices; ++d) {
    capacity[2 * d] = device_links[d].uplink_mbps;
    capacity[2 * d + 1] = device_links[d].downlink_mbps;
  }
  const int server_up = 2 * num_devices, server_down = 2 * num_devices + 1;
  capacity[server_up] = server.uplink_mbps;
  capacity[server_down] = server.downlink_mbps;
  auto limited = [&](int r) { return std::isfinite(capacity[r]) ? r : kUnlimited; };

  std::vector<Flow> flows(transfers.size());
  for (std::size_t i = 0; i < transfers.size(); ++i) {
    const Transfer& t = transfers[i];
    for (int e : {t.source, t.destination})
      if (e != kServer && (e < 0 || e >= num_devices))
        bad("endpoint " + std::to_string(e) + " is neither the server nor one of " +
            std::to_string(num_devices) + " devices");
    if (t.source == t.destination) bad("a transfer from endpoint " + std::to_string(t.source) + " to itself");
    Flow& f = flows[i];
    f.input = i;
    f.transfer = t;
    const int up = t.source == kServer ? server_up : 2 * t.source;
    const int down = t.destination == kServer ? server_down : 2 * t.destination + 1;
    f.lone_mbps = std::min(capacity[up], capacity[down]);
    f.up = limited(up);
    f.down = limited(down);
    const double lat_src = t.source == kServer ? 0.0 : device_links[t.source].latency_s;
    const double lat_dst = t.destination == kServer ? 0.0 : device_links[t.destination].latency_s;
    f.latency_s = std::max(lat_src, lat_dst);
    f.start_s = starts[i];
    f.flow_start_s = f.start_s + f.latency_s;
    f.remaining_bits = static_cast<double>(t.bytes) * 8.0;
  }
  // One canonical order, so that the floating-point sums, and so the results, do not depend
  // on the caller's order. Equal keys are identical transfers, which get identical results.
  std::sort(flows.begin(), flows.end(), [](const Flow& a, const Flow& b) {
    return std::tie(a.transfer.source, a.transfer.destination, a.transfer.bytes, a.start_s) <
           std::tie(b.transfer.source, b.transfer.destination, b.transfer.bytes, b.start_s);
  });

  std::vector<TransferTiming> out(transfers.size());
  auto finish = [&](Flow& f, double now) {
    f.done = true;
    f.active = false;
    TransferTiming& t = out[f.input];
    t.start_s = f.start_s;
    if (!f.slowed) {
      t.duration_s = transfer_seconds(f.transfer.bytes, f.lone_mbps, f.latency_s);
      t.end_s = f.start_s + t.duration_s;
    } else {
      t.end_s = now;
      t.duration_s = now - f.start_s;
    }
  };
  // When f will end if its rate stays; an unslowed flow at its lone rate ends exactly where
  // transfer_seconds says, so the events agree with the reported times.
  auto predicted_end = [&](const Flow& f, double now) {
    if (!f.slowed && f.rate_mbps == f.lone_mbps)
      return f.start_s + transfer_seconds(f.transfer.bytes, f.lone_mbps, f.latency_s);
    return now + f.remaining_bits / (f.rate_mbps * 1e6);
  };

  std::size_t unfinished = flows.size();
  double now = flows.empty() ? 0.0 : std::min_element(flows.begin(), flows.end(), [](const Flow& a, const Flow& b) {
                                       return a.start_s < b.start_s;
                                     })->start_s;
  std::vector<Flow*> active;
  std::vector<double> ends;
  while (unfinished > 0) {
    double next_start = std::numeric_limits<double>::infinity();
    for (Flow& f : flows) {
      if (f.done || f.active) continue;
      if (f.flow_start_s > now) {
        next_start = std::min(next_start, f.flow_start_s);
      } else if (f.transfer.bytes == 0) {
        finish(f, now);  // latency only; it never takes a share of a link
        --unfinished;
      } else {
        f.active = true;
      }
    }
    active.clear();
    for (Flow& f : flows)
      if (f.active) active.push_back(&f);
    if (active.empty()) {
      now = next_start;
      continue;
    }
    share_links(active, capacity);
    ends.assign(active.size(), 0.0);
    double next = next_start;
    for (std::size_t i = 0; i < active.size(); ++i) {
      ends[i] = predicted_end(*active[i], now);
      next = std::min(next, ends[i]);
    }
    if (!std::isfinite(next)) throw std::logic_error("time_transfers: a transfer never ends");
    const double dt = next - now;
    for (std::size_t i = 0; i < active.size(); ++i) {
      Flow& f = *active[i];
      if (dt > 0 && f.rate_mbps != f.lone_mbps) f.slowed = true;
      f.remaining_bits = std::max(0.0, f.remaining_bits - f.rate_mbps * 1e6 * dt);
    }
    now = next;
    for (std::size_t i = 0; i < active.size(); ++i)
      if (ends[i] == next) {
        finish(*active[i], now);
        --unfinished;
      }
  }
  return out;
}

}  // namespace edgesim
