#pragma once
// CIFAR-10 and CIFAR-100 read from the "binary version" tarballs of
// https://www.cs.toronto.edu/~kriz/cifar.html. A record is its label byte(s) followed by 3072
// pixel bytes: the 32x32 red plane, then green, then blue, each row-major. That is already
// C x H x W, so ImageSet.pixels is N x 3 x 32 x 32 with no reshuffling. Damaged files raise
// InputError naming the file and the byte offset of the problem.
#include <cstdint>
#include <string>

#include "edgesim/data/idx.hpp"  // ImageSet

namespace edgesim {

// dir is the cifar-10-batches-bin folder. split "train" reads data_batch_1.bin ...
// data_batch_5.bin in that order, "test" reads test_batch.bin. limit > 0 keeps the first
// `limit` samples and opens only the batch files needed to reach them (labels are checked
// for the records read, i.e. not beyond the limit).
ImageSet load_cifar10(const std::string& dir, const std::string& split, std::int64_t limit = 0);

// dir is the cifar-100-binary folder holding train.bin and test.bin. Labels are the 100 fine
// classes, or the 20 coarse superclasses when coarse is true (both bytes are always checked).
ImageSet load_cifar100(const std::string& dir, const std::string& split, std::int64_t limit = 0,
                       bool coarse = false);

}  // namespace edgesim
