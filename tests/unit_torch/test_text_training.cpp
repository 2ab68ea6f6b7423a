// Language models in the runtime: token windows become input/target tensors, a text
// experiment deals its windows to devices the same way on every build, and a fresh
// Transformer LM starts near the uniform guess.
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unistd.h>

#include "edgesim/data/text.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/runtime/experiment.hpp"
#include "edgesim/runtime/local_training.hpp"

using namespace edgesim;
namespace fs = std::filesystem;

namespace {

std::vector<std::int64_t> row(const torch::Tensor& t, std::int64_t i) {
  const auto r = t[i].contiguous();
  return {r.data_ptr<std::int64_t>(), r.data_ptr<std::int64_t>() + r.numel()};
}

// A fortunes-style corpus and a config training the tiny Transformer on it.
std::string text_config(const fs::path& dir) {
  fs::create_directories(dir / "corpus");
  std::ofstream f(dir / "corpus" / "quotes");
  for (int i = 0; i < 200; ++i) f << "fortune " << i << ": the quick brown fox jumps over the lazy dog\n%\n";
  const fs::path config = dir / "text.toml";
  std::ofstream(config) << "[data]\ndataset = \"fortunes\"\npath = \"" << (dir / "corpus").string()
                        << "\"\n[devices]\nprofiles = \"" EDGESIM_SOURCE_DIR "/experiments/devices/jetson16.toml\"\n"
                        << "count = 5\n[model]\nname = \"transformer\"\nseq_len = 16\n";
  return config.string();
}

}  // namespace

TEST_CASE("to_examples: a window's targets are its inputs shifted by one token", "[text][training]") {
  SampleSet set;
  set.text = true;
  set.num_classes = 30;
  set.windows.seq_len = 3;
  for (int i = 0; i < 10; ++i) set.windows.tokens.push_back(10 + i);
  set.windows.starts = lm_windows(10, 3);  // 0, 3, 6
  const Examples some = to_examples(set, {2, 0});
  CHECK(some.x.sizes() == torch::IntArrayRef{2, 3});
  CHECK(some.x.dtype() == torch::kInt64);
  CHECK(row(some.x, 0) == std::vector<std::int64_t>{16, 17, 18});
  CHECK(row(some.y, 0) == std::vector<std::int64_t>{17, 18, 19});
  CHECK(row(some.x, 1) == std::vector<std::int64_t>{10, 11, 12});
  CHECK(row(some.y, 1) == std::vector<std::int64_t>{11, 12, 13});
  CHECK(to_examples(set).x.size(0) == 3);
}

TEST_CASE("a text experiment: the vocabulary sizes the model, windows are dealt iid", "[text][training]") {
  const fs::path dir = fs::temp_directory_path() / ("edgesim-text-experiment-" + std::to_string(getpid()));
  const ExperimentConfig config = load_config(text_config(dir));
  const Experiment e = Experiment::build(config);
  const TokenCorpus corpus = load_fortunes_corpus((dir / "corpus").string());
  CHECK(e.model.token_input);
  CHECK(e.model.num_classes == corpus.vocab_size);
  CHECK(e.model.in_h == 16);
  CHECK(e.label_classes() == 0);
  REQUIRE(e.partition.indices.size() == 5);
  std::vector<std::int64_t> dealt;
  for (std::size_t d = 0; d < 5; ++d) {
    CHECK(e.partition.label_histogram[d].empty());
    const auto n = static_cast<std::int64_t>(e.partition.indices[d].size());
    CHECK(std::abs(n - e.train.size() / 5) <= 1);
    dealt.insert(dealt.end(), e.partition.indices[d].begin(), e.partition.indices[d].end());
  }
  std::sort(dealt.begin(), dealt.end());
  std::vector<std::int64_t> all(static_cast<std::size_t>(e.train.size()));
  std::iota(all.begin(), all.end(), 0);
  CHECK(dealt == all);
  CHECK(Experiment::build(config).partition.indices == e.partition.indices);  // from the seed alone
  fs::remove_all(dir);
}

TEST_CASE("a fresh Transformer LM guesses about uniformly", "[text][training]") {
  // Tied embeddings start small (GPT-2's N(0, 0.02)): with LibTorch's N(0, 1) the initial
  // loss would be many nats above log(vocab), and SGD would spend its first rounds undoing it.
  torch::manual_seed(3);
  const int vocab = 100;
  auto net = build_network(make_transformer_lm(transformer_preset("tiny", vocab, 16), 1.0));
  const auto x = torch::randint(vocab, {8, 16}, torch::kInt64), y = torch::randint(vocab, {8, 16}, torch::kInt64);
  const Evaluation ev = evaluate(net, x, y);
  CHECK(std::abs(ev.loss - std::log(vocab)) < 0.5);
}
