#pragma once
// Transfers as data, and how long a set of them takes when they start together (one phase of
// a task or a round) or at given times (the peer-to-peer phases of a round's tasks).
//
// Why max-min fair sharing: a device's link is the scarce resource, and once devices talk to
// several peers at once (peer-to-peer phases, a model gathered from many devices) the sum of
// a link's transfers must not exceed it. As in SimGrid's fluid network model, a set of
// transfers is timed by progressive filling: each transfer is limited by its sender's uplink
// and its receiver's downlink, the transfers on one link split it max-min fairly, and the
// capacity a finished transfer frees goes to the others. Each transfer first waits its
// latency (the larger of its two devices' latencies; the server adds none), using no
// bandwidth meanwhile. The server's links are unlimited unless given, so star traffic
// (every device <-> the server) never shares and each transfer costs what time_task() says.
//
// A transfer that flowed at its lone rate the whole time (nothing slowed it) is timed by
// transfer_seconds() itself, so such results are identical to the per-task clock bit for bit.
#include <cstdint>
#include <limits>
#include <vector>

#include "edgesim/device/profile.hpp"

namespace edgesim {

constexpr int kServer = -1;  // the endpoint that is the server; devices are 0, 1, ...

struct Transfer {
  int source = kServer, destination = kServer;  // a device id, or kServer (not both)
  std::uint64_t bytes = 0;
};

// One device's network: what DeviceProfile says, without the rest of the profile.
struct LinkProfile {
  double uplink_mbps = 100, downlink_mbps = 100;  // Mbit/s, finite and > 0
  double latency_s = 0;                           // one way, paid once per transfer
};
LinkProfile link_of(const DeviceProfile& device);
std::vector<LinkProfile> links_of(const std::vector<DeviceProfile>& devices);  // index = device id

// The server's links (Mbit/s, > 0): unlimited by default.
struct ServerLink {
  double uplink_mbps = std::numeric_limits<double>::infinity();    // server -> devices
  double downlink_mbps = std::numeric_limits<double>::infinity();  // devices -> server
};

struct TransferTiming {
  double start_s = 0, end_s = 0;
  // The transfer's seconds: exactly transfer_seconds(bytes, lone rate, latency) when nothing
  // slowed it (end_s = start_s + duration_s), else end_s - start_s. Use it for per-task
  // seconds such as /tasks.download_s: end_s - start_s can differ from it in the last bit.
  double duration_s = 0;
};

// Times `transfers`, all starting at start_s; result i belongs to transfers[i]. The result
// does not depend on the order of `transfers`. Throws std::invalid_argument for an endpoint
// that is not kServer or an index of `device_links`, a transfer from an endpoint to itself
// (server to server included), or a link speed that is not > 0 (devices: also finite).
std::vector<TransferTiming> time_transfers(const std::vector<Transfer>& transfers,
                                           const std::vector<LinkProfile>& device_links,
                                           double start_s, const ServerLink& server = {});
// The same with transfer i starting at starts[i] (one per transfer, finite): a transfer shares
// the links only while it flows, so one that starts after another has ended is not slowed by
// it. With equal starts it is the call above, bit for bit.
std::vector<TransferTiming> time_transfers(const std::vector<Transfer>& transfers, const std::vector<double>& starts,
                                           const std::vector<LinkProfile>& device_links, const ServerLink& server = {});

}  // namespace edgesim
