#pragma once
// Fashion-MNIST in CIFAR's shapes (`data.dataset = "fashion-mnist-32"`): each 28x28 grey image
// padded with 2 black pixels on every side to 32x32 (the classic LeNet-5 input; padding keeps
// every original pixel, where resizing would blur them) and repeated to 3 identical channels,
// so VGG and ResNet-18 run their CIFAR architectures on a real task with real headroom.
#include "edgesim/data/idx.hpp"

namespace edgesim {

// `images` (one channel) padded by `pad` zero pixels on every side and repeated to `channels`
// channels; labels unchanged. Normalisation statistics: the grey set's, rescaled to the padded
// area (the padding adds zeros), the same for every channel.
ImageSet pad_and_repeat(const ImageSet& images, int pad, int channels);

}  // namespace edgesim
