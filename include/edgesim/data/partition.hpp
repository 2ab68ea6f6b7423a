#pragma once
// Which training samples each device owns. Every sample goes to exactly one device; devices
// hold indices into the dataset, never copies. All randomness comes from the Rng passed in
// (derived from the run seed), so the partition is the same on every rank.
#include <cstdint>
#include <vector>

#include "edgesim/common/rng.hpp"

namespace edgesim {

struct Partition {
  std::vector<std::vector<std::int64_t>> indices;          // [device] -> sample indices, sorted
  std::vector<std::vector<std::int64_t>> label_histogram;  // [device][class] -> count
};

// Shuffle, then deal equal shares (sizes differ by at most one).
Partition partition_iid(const std::vector<std::uint8_t>& labels, int num_classes,
                        int num_devices, Rng& rng);

// For each class, split its samples among devices with proportions ~ Dirichlet(alpha)
// (NIID-Bench style). Redraws the whole partition until every device has at least
// min_samples (up to 1000 attempts, then InputError suggesting a larger alpha).
Partition partition_dirichlet(const std::vector<std::uint8_t>& labels, int num_classes,
                              int num_devices, double alpha, Rng& rng,
                              std::int64_t min_samples = 10);

// Sort by label, cut into num_devices * shards_per_device equal shards, give each device
// shards_per_device random shards (McMahan et al. 2017). Leftover samples (when the count is
// not divisible) go to the last shards, so every sample is still owned by exactly one device.
Partition partition_shards(const std::vector<std::uint8_t>& labels, int num_classes,
                           int num_devices, int shards_per_device, Rng& rng);

}  // namespace edgesim
