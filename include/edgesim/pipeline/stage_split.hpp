#pragma once
// How a stage's devices share one micro-batch (data parallelism inside a stage).
//
// split_proportional is Asteroid's Algorithm 1 as the third-party descriptions give it
// [related; the exact rule is a reconstruction]: shares proportional to speed, capped by each
// device's memory (the capped devices' excess water-filled over the others in proportion to
// their speed), rounded to whole samples, then single samples moved from the device that
// finishes last to the device that would finish earliest with one more sample, while that
// lowers the later of the two finish times. Every device gets at least one sample (a device
// with none would only slow the stage's all-reduce).
//
// A device's finish time is fixed_d + share_d · seconds_per_sample_d: under the calibrated
// clock an op costs per-kernel time whatever its share (pipeline/fleet.hpp); fixed is 0 under
// the analytic clock. "Speed" for the proportional start is 1 / seconds_per_sample (the
// marginal cost of a sample); the moves compare the whole finish times.
//
// Because moves continue until no device can take a sample and finish before the current
// slowest one, the result minimises max_d (fixed_d + share_d · seconds_per_sample_d) over all
// integer splits within the caps (if a split with a smaller maximum existed, the slowest device
// would hold more than it does there, and some other device less, and it could take one more;
// this needs only finish times increasing in the share).
#include <vector>

namespace edgesim {

enum class SplitPolicy {
  kProportional,  // Algorithm 1 above (Asteroid)
  kEqual,         // equal shares, the remainder to the lowest ids (ignores heterogeneity)
};

// Shares summing to micro_batch, each in [1, max_share[d]]; empty if there is none. fixed_seconds:
// per device, or empty for none.
std::vector<int> split_proportional(int micro_batch, const std::vector<double>& seconds_per_sample,
                                    const std::vector<int>& max_share, const std::vector<double>& fixed_seconds = {});
std::vector<int> split_equal(int micro_batch, const std::vector<int>& max_share);

std::vector<int> split_micro_batch(SplitPolicy policy, int micro_batch, const std::vector<double>& seconds_per_sample,
                                   const std::vector<int>& max_share, const std::vector<double>& fixed_seconds = {});

}  // namespace edgesim
