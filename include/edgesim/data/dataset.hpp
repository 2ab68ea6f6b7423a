#pragma once
// The image dataset a config names, loaded the same way on every rank: Fashion-MNIST (IDX),
// CIFAR-10/100 (binary batches) or synthetic images (learnable class prototypes plus noise).
#include <string>

#include "edgesim/data/idx.hpp"
#include "edgesim/io/config.hpp"

namespace edgesim {

// split: "train" or "test". Honours data.train_samples / data.test_samples.
ImageSet load_image_dataset(const DataConfig& data, const std::string& split);

}  // namespace edgesim
