#include "edgesim/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "edgesim/common/error.hpp"

namespace edgesim {
namespace {

using IndexLists = std::vector<std::vector<std::int64_t>>;

constexpr int kDirichletAttempts = 1000;

void check_common(const char* who, const std::vector<std::uint8_t>& labels, int num_classes,
                  int num_devices) {
  const std::string prefix = std::string(who) + ": ";
  if (num_devices < 1) {
    throw InputError(prefix + "num_devices must be at least 1, got " +
                     std::to_string(num_devices));
  }
  if (num_classes < 1) {
    throw InputError(prefix + "num_classes must be at least 1, got " +
                     std::to_string(num_classes));
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= num_classes) {
      throw InputError(prefix + "sample " + std::to_string(i) + " has label " +
                       std::to_string(labels[i]) + ", but num_classes is " +
                       std::to_string(num_classes));
    }
  }
}

// Sample indices of each class in ascending order: a stable counting sort by label.
IndexLists indices_by_class(const std::vector<std::uint8_t>& labels, int num_classes) {
  IndexLists by_class(num_classes);
  for (std::size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(i);
  return by_class;
}

Partition finish(IndexLists indices, const std::vector<std::uint8_t>& labels, int num_classes) {
  Partition p;
  p.label_histogram.assign(indices.size(), std::vector<std::int64_t>(num_classes, 0));
  for (std::size_t d = 0; d < indices.size(); ++d) {
    std::sort(indices[d].begin(), indices[d].end());
    for (std::int64_t i : indices[d]) ++p.label_histogram[d][labels[i]];
  }
  p.indices = std::move(indices);
  return p;
}

// One Dirichlet draw of the whole partition; the caller checks min_samples.
IndexLists draw_dirichlet(const IndexLists& by_class, int num_devices, double alpha, Rng& rng) {
  IndexLists owned(num_devices);
  for (std::vector<std::int64_t> members : by_class) {
    // Shuffle so each device gets a random subset of the class, not a run of file order.
    rng.shuffle(members);
    const std::vector<double> share = rng.dirichlet(alpha, num_devices);
    const std::size_t m = members.size();
    double cumulative = 0.0;
    std::size_t start = 0;
    for (int d = 0; d < num_devices; ++d) {
      cumulative += share[d];
      // Cut at floor(cumulative * m); the last device takes the rest so rounding loses nothing.
      std::size_t end = d + 1 == num_devices ? m : static_cast<std::size_t>(cumulative * m);
      end = std::clamp(end, start, m);
      owned[d].insert(owned[d].end(), members.begin() + start, members.begin() + end);
      start = end;
    }
  }
  return owned;
}

}  // namespace

Partition partition_iid(const std::vector<std::uint8_t>& labels, int num_classes,
                        int num_devices, Rng& rng) {
  check_common("partition_iid", labels, num_classes, num_devices);
  const std::size_t n = labels.size();
  if (static_cast<std::size_t>(num_devices) > n) {
    throw InputError("partition_iid: " + std::to_string(num_devices) +
                     " devices but only " + std::to_string(n) +
                     " samples; every device needs at least one");
  }
  std::vector<std::int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  rng.shuffle(order);

  IndexLists indices(num_devices);
  const std::size_t base = n / num_devices, extra = n % num_devices;
  std::size_t start = 0;
  for (int d = 0; d < num_devices; ++d) {
    const std::size_t size = base + (static_cast<std::size_t>(d) < extra ? 1 : 0);
    indices[d].assign(order.begin() + start, order.begin() + start + size);
    start += size;
  }
  return finish(std::move(indices), labels, num_classes);
}

Partition partition_dirichlet(const std::vector<std::uint8_t>& labels, int num_classes,
                              int num_devices, double alpha, Rng& rng,
                              std::int64_t min_samples) {
  check_common("partition_dirichlet", labels, num_classes, num_devices);
  if (!(alpha > 0.0) || !std::isfinite(alpha)) {
    throw InputError("partition_dirichlet: alpha must be a positive finite number, got " +
                     std::to_string(alpha));
  }
  if (min_samples < 0) {
    throw InputError("partition_dirichlet: min_samples must be >= 0, got " +
                     std::to_string(min_samples));
  }
  const std::int64_t n = static_cast<std::int64_t>(labels.size());
  // Fail at once when no draw could ever succeed, instead of after 1000 futile attempts.
  if (min_samples > 0 && n / min_samples < num_devices) {
    throw InputError("partition_dirichlet: cannot give each of " + std::to_string(num_devices) +
                     " devices at least " + std::to_string(min_samples) +
                     " samples from only " + std::to_string(n));
  }

  const IndexLists by_class = indices_by_class(labels, num_classes);
  for (int attempt = 0; attempt < kDirichletAttempts; ++attempt) {
    IndexLists owned = draw_dirichlet(by_class, num_devices, alpha, rng);
    const bool enough = std::all_of(owned.begin(), owned.end(), [&](const auto& v) {
      return static_cast<std::int64_t>(v.size()) >= min_samples;
    });
    if (enough) return finish(std::move(owned), labels, num_classes);
  }
  throw InputError("partition_dirichlet: after " + std::to_string(kDirichletAttempts) +
                   " draws some device still had fewer than " + std::to_string(min_samples) +
                   " samples (" + std::to_string(n) + " samples, " +
                   std::to_string(num_devices) + " devices, alpha=" + std::to_string(alpha) +
                   "); use a larger alpha, fewer devices or a smaller min_samples");
}

Partition partition_shards(const std::vector<std::uint8_t>& labels, int num_classes,
                           int num_devices, int shards_per_device, Rng& rng) {
  check_common("partition_shards", labels, num_classes, num_devices);
  if (shards_per_device < 1) {
    throw InputError("partition_shards: shards_per_device must be at least 1, got " +
                     std::to_string(shards_per_device));
  }
  const std::int64_t n = static_cast<std::int64_t>(labels.size());
  const std::int64_t num_shards = std::int64_t{num_devices} * shards_per_device;
  if (num_shards > n) {
    throw InputError("partition_shards: " + std::to_string(num_devices) + " devices x " +
                     std::to_string(shards_per_device) + " shards = " +
                     std::to_string(num_shards) + " shards, more than the " +
                     std::to_string(n) + " samples; every shard needs at least one");
  }

  std::vector<std::int64_t> sorted;
  sorted.reserve(n);
  for (const auto& members : indices_by_class(labels, num_classes)) {
    sorted.insert(sorted.end(), members.begin(), members.end());
  }
  // Shard s covers [s*q + max(0, s - (S - r)), ...): the last r shards hold one extra sample.
  const std::int64_t q = n / num_shards, r = n % num_shards;
  auto shard_start = [&](std::int64_t s) {
    return s * q + std::max<std::int64_t>(0, s - (num_shards - r));
  };

  std::vector<std::int64_t> shard_ids(num_shards);
  std::iota(shard_ids.begin(), shard_ids.end(), 0);
  rng.shuffle(shard_ids);

  IndexLists indices(num_devices);
  for (int d = 0; d < num_devices; ++d) {
    for (int j = 0; j < shards_per_device; ++j) {
      const std::int64_t s = shard_ids[std::int64_t{d} * shards_per_device + j];
      indices[d].insert(indices[d].end(), sorted.begin() + shard_start(s),
                        sorted.begin() + shard_start(s + 1));
    }
  }
  return finish(std::move(indices), labels, num_classes);
}

}  // namespace edgesim
