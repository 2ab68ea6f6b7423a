#pragma once
// The data a config names, loaded the same way on every rank, as numbered samples: labelled
// images (Fashion-MNIST from IDX files, as is or padded to 32x32x3 by data/padded.hpp,
// CIFAR-10/100 binary batches, synthetic class prototypes plus noise) or windows of a token
// stream for language models (a text corpus, data/text.hpp). Devices own sample numbers
// (data/partition.hpp); the runtime turns samples into tensors (runtime/local_training.hpp)
// without caring which kind they are.
#include <cstdint>
#include <string>
#include <vector>

#include "edgesim/data/idx.hpp"
#include "edgesim/io/config.hpp"

namespace edgesim {

// Sample k: input tokens [starts[k], starts[k] + seq_len), targets the same shifted by one.
struct TokenWindows {
  std::vector<std::int32_t> tokens;
  std::vector<std::int64_t> starts;
  int seq_len = 0;
};

struct SampleSet {
  bool text = false;
  ImageSet images;     // when !text
  TokenWindows windows;  // when text
  int num_classes = 0;   // image classes, or the vocabulary size
  std::int64_t size() const { return text ? static_cast<std::int64_t>(windows.starts.size()) : images.count; }
};

struct Datasets {
  SampleSet train, test;
};

// Both splits of data.dataset. Text: the corpus's own train and test splits cut into
// seq_len-token windows (lm_windows), vocabulary from its train split; the splits depend on
// the corpus alone, never on the seed or the rank count. data.train_samples /
// data.test_samples keep the first N samples (windows); a split shorter than one window
// has none.
Datasets load_datasets(const DataConfig& data, int seq_len);

// split: "train" or "test". Honours data.train_samples / data.test_samples.
ImageSet load_image_dataset(const DataConfig& data, const std::string& split);

}  // namespace edgesim
