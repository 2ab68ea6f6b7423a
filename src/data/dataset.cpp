#include "edgesim/data/dataset.hpp"

#include "edgesim/data/cifar.hpp"
#include "edgesim/data/synthetic.hpp"

namespace edgesim {

ImageSet load_image_dataset(const DataConfig& d, const std::string& split) {
  const std::int64_t limit = split == "train" ? d.train_samples : d.test_samples;
  ImageSet set;
  if (d.dataset == "fashion-mnist") return load_fashion_mnist(d.path, split, limit);
  if (d.dataset == "cifar10" || d.dataset == "cifar100") {
    set = d.dataset == "cifar10" ? load_cifar10(d.path, split, limit) : load_cifar100(d.path, split, limit);
    set.mean = {0.4914f, 0.4822f, 0.4465f};  // the usual CIFAR channel statistics
    set.stddev = {0.2470f, 0.2435f, 0.2616f};
    return set;
  }
  // synthetic: train and test draw different samples around the same class prototypes.
  const std::int64_t count = limit > 0 ? limit : (split == "train" ? 10000 : 2000);
  set = make_synthetic_images(count, d.synthetic_channels, d.synthetic_size, d.synthetic_size, d.synthetic_classes,
                              d.synthetic_seed, split == "train" ? 0 : 1);
  set.mean.assign(set.channels, 0.5f);
  set.stddev.assign(set.channels, 0.25f);
  return set;
}

}  // namespace edgesim
