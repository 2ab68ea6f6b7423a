#include "edgesim/data/dataset.hpp"

#include "edgesim/data/cifar.hpp"
#include "edgesim/data/padded.hpp"
#include "edgesim/data/synthetic.hpp"
#include "edgesim/data/text.hpp"

namespace edgesim {
namespace {

SampleSet image_samples(ImageSet images) {
  SampleSet s;
  s.num_classes = images.num_classes;
  s.images = std::move(images);
  return s;
}

// limit > 0 keeps the first `limit` windows and only the tokens they read.
SampleSet token_samples(std::vector<std::int32_t> tokens, int seq_len, std::int64_t limit, int vocab) {
  SampleSet s;
  s.text = true;
  s.num_classes = vocab;
  s.windows.seq_len = seq_len;
  s.windows.starts = lm_windows(static_cast<std::int64_t>(tokens.size()), seq_len);
  if (limit > 0 && limit < static_cast<std::int64_t>(s.windows.starts.size())) {
    s.windows.starts.resize(limit);
    tokens.resize(static_cast<std::size_t>(s.windows.starts.back() + seq_len + 1));
  }
  s.windows.tokens = std::move(tokens);
  return s;
}

}  // namespace

Datasets load_datasets(const DataConfig& d, int seq_len) {
  if (!d.text()) return {image_samples(load_image_dataset(d, "train")), image_samples(load_image_dataset(d, "test"))};
  TokenCorpus corpus = d.dataset == "fortunes" ? load_fortunes_corpus(d.path) : load_wikitext(d.path);
  return {token_samples(std::move(corpus.train), seq_len, d.train_samples, corpus.vocab_size),
          token_samples(std::move(corpus.test), seq_len, d.test_samples, corpus.vocab_size)};
}

ImageSet load_image_dataset(const DataConfig& d, const std::string& split) {
  const std::int64_t limit = split == "train" ? d.train_samples : d.test_samples;
  ImageSet set;
  if (d.dataset == "fashion-mnist") return load_fashion_mnist(d.path, split, limit);
  if (d.dataset == "fashion-mnist-32") return pad_and_repeat(load_fashion_mnist(d.path, split, limit), 2, 3);
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
