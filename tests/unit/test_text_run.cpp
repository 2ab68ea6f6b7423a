// The torch-free pieces of a language-model run: text datasets as token windows, and the
// Transformer shape a config names.
#include <catch2/catch.hpp>

#include <fstream>

#include "edgesim/data/dataset.hpp"
#include "edgesim/data/text.hpp"
#include "edgesim/io/config.hpp"
#include "edgesim/model/zoo.hpp"
#include "test_support.hpp"

using namespace edgesim;
using edgesim::test_support::TempDir;

namespace {

// 30 fortunes, so every 10th (3 of them) makes a test split of a few windows.
DataConfig fortunes_in(const TempDir& dir) {
  std::ofstream f(dir.file("quotes"));
  for (int i = 0; i < 30; ++i) f << "fortune number " << i << " says hello\n%\n";
  DataConfig d;
  d.dataset = "fortunes";
  d.path = dir.path.string();
  return d;
}

}  // namespace

TEST_CASE("load_datasets cuts a text corpus's splits into seq_len-token windows", "[text][dataset]") {
  TempDir dir;
  DataConfig d = fortunes_in(dir);
  const TokenCorpus corpus = load_fortunes_corpus(d.path);
  const Datasets data = load_datasets(d, 8);
  for (const auto* s : {&data.train, &data.test}) {
    CHECK(s->text);
    CHECK(s->num_classes == corpus.vocab_size);
    CHECK(s->windows.seq_len == 8);
  }
  CHECK(data.train.windows.tokens == corpus.train);
  CHECK(data.test.windows.tokens == corpus.test);
  CHECK(data.train.windows.starts == lm_windows(static_cast<std::int64_t>(corpus.train.size()), 8));
  CHECK(data.test.windows.starts == lm_windows(static_cast<std::int64_t>(corpus.test.size()), 8));
  CHECK(data.train.size() == static_cast<std::int64_t>(data.train.windows.starts.size()));
  CHECK(data.test.size() > 0);

  // train_samples keeps the first windows and only the tokens they read.
  d.train_samples = 3;
  const Datasets few = load_datasets(d, 8);
  CHECK(few.train.windows.starts == std::vector<std::int64_t>{0, 8, 16});
  CHECK(few.train.windows.tokens == std::vector<std::int32_t>(corpus.train.begin(), corpus.train.begin() + 25));
  CHECK(few.test.windows.starts == data.test.windows.starts);  // test_samples = 0: all
}

TEST_CASE("load_datasets keeps images as labelled samples", "[dataset]") {
  DataConfig d;
  d.dataset = "synthetic";
  d.synthetic_classes = 4;
  d.train_samples = 40;
  d.test_samples = 12;
  const Datasets data = load_datasets(d, 64);  // seq_len plays no part
  CHECK_FALSE(data.train.text);
  CHECK(data.train.size() == 40);
  CHECK(data.test.size() == 12);
  CHECK(data.train.num_classes == 4);
}

TEST_CASE("transformer_shape: a preset, with any given dimension replacing the preset's", "[model][text]") {
  ModelConfig m;
  m.name = "transformer";
  m.seq_len = 32;
  const TransformerShape tiny = transformer_shape(m, 99);
  CHECK(tiny.vocab == 99);
  CHECK(tiny.seq_len == 32);
  CHECK(tiny.layers == 2);
  CHECK(tiny.d_model == 128);
  CHECK(tiny.heads == 4);
  CHECK(tiny.ffn == 512);
  m.preset = "small";
  m.layers = 1;
  m.ffn = 64;
  const TransformerShape t = transformer_shape(m, 99);
  CHECK(t.layers == 1);
  CHECK(t.ffn == 64);
  CHECK(t.d_model == 256);  // the preset's
  CHECK(t.heads == 4);
  CHECK(make_transformer_lm(t, 1.0).num_classes == 99);
}
