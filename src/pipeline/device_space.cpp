#include "device_space.hpp"

#include <algorithm>
#include <numeric>

namespace edgesim::pipeline_detail {
namespace {

bool same_device(const Fleet& f, int a, int b) {
  const DeviceProfile &x = f.devices[a], &y = f.devices[b];
  const LinkProfile &l = f.links[a], &m = f.links[b];
  return f.same_compute(a, b) && x.memory_cap_bytes == y.memory_cap_bytes && l.uplink_mbps == m.uplink_mbps &&
         l.downlink_mbps == m.downlink_mbps && l.latency_s == m.latency_s;
}

// Ids of each kind of identical devices, kinds in order of their first id.
std::vector<std::vector<int>> kinds_of(const Fleet& f) {
  std::vector<std::vector<int>> kinds;
  for (int d = 0; d < f.size(); ++d) {
    auto it = std::find_if(kinds.begin(), kinds.end(), [&](const auto& k) { return same_device(f, k[0], d); });
    if (it == kinds.end()) kinds.push_back({d});
    else it->push_back(d);
  }
  return kinds;
}

}  // namespace

long long subset_states(const Fleet& fleet) {
  long long n = 1;
  for (const auto& k : kinds_of(fleet)) n *= static_cast<long long>(k.size()) + 1;
  return n;
}

DeviceSpace subsets_space(const Fleet& fleet) {
  const auto kinds = kinds_of(fleet);
  const int K = static_cast<int>(kinds.size());
  std::vector<int> stride(K + 1, 1);
  for (int k = 0; k < K; ++k) stride[k + 1] = stride[k] * (static_cast<int>(kinds[k].size()) + 1);
  auto counts_of = [&](int code) {
    std::vector<int> c(K);
    for (int k = 0; k < K; ++k) c[k] = code / stride[k] % (static_cast<int>(kinds[k].size()) + 1);
    return c;
  };
  DeviceSpace space;
  space.states = space.group_keys = stride[K];
  space.moves.resize(space.states);
  for (int used = 0; used < space.states; ++used) {
    const std::vector<int> c = counts_of(used);
    for (int g = 1; g < space.states; ++g) {
      const std::vector<int> take = counts_of(g);
      bool fits = true;
      for (int k = 0; k < K && fits; ++k) fits = c[k] + take[k] <= static_cast<int>(kinds[k].size());
      if (!fits) continue;
      DeviceMove m;
      m.group_key = g, m.next = used + g;
      for (int k = 0; k < K; ++k)
        for (int i = c[k]; i < c[k] + take[k]; ++i) m.devices.push_back(kinds[k][i]);
      std::sort(m.devices.begin(), m.devices.end());
      space.moves[used].push_back(std::move(m));
    }
  }
  return space;
}

DeviceSpace sorted_runs_space(const Fleet& fleet) {
  const int n = fleet.size();
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const DeviceProfile &x = fleet.devices[a], &y = fleet.devices[b];
    if (x.memory_cap_bytes != y.memory_cap_bytes) return x.memory_cap_bytes > y.memory_cap_bytes;
    return x.slowdown < y.slowdown;
  });
  DeviceSpace space;
  space.states = n + 1;
  space.group_keys = (n + 1) * (n + 1);
  space.moves.resize(space.states);
  space.starts.clear();
  for (int skipped = 0; skipped < n; ++skipped) space.starts.push_back(skipped);
  for (int used = 0; used <= n; ++used)
    for (int r = 1; used + r <= n; ++r) {
      const int first = n - used - r;
      DeviceMove m;
      m.group_key = first * (n + 1) + r, m.next = used + r;
      m.devices.assign(order.begin() + first, order.begin() + first + r);
      std::sort(m.devices.begin(), m.devices.end());
      space.moves[used].push_back(std::move(m));
    }
  return space;
}

}  // namespace edgesim::pipeline_detail
