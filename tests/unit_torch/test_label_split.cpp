// HeteroFL (Diao et al., ICLR 2021) and FedRolex (Alam et al., NeurIPS 2022): the published
// `combine` averages the classifier's row of class c only over the clients that hold label c
// (`label_split`). Checked on a hand-worked merge, on the row layout against the built network,
// and through the policies (HeteroFL and FedRolex do it by default, FjORD does not, the key
// switches it).
// LibTorch before Catch: glog defines CHECK too, and Catch's must win.
#include <torch/torch.h>
#include <catch2/catch.hpp>

#include <filesystem>

#include "edgesim/algo/algorithm.hpp"
#include "edgesim/algo/label_split.hpp"
#include "edgesim/model/aggregate.hpp"
#include "edgesim/model/classifier_rows.hpp"
#include "edgesim/model/network.hpp"
#include "edgesim/model/spec_builder.hpp"
#include "edgesim/model/submodel.hpp"
#include "edgesim/model/zoo.hpp"
#include "edgesim/runtime/local_training.hpp"

using namespace edgesim;

namespace {

// A CNN small enough to write its classifier out: 8 hidden units, 4 classes.
ModelSpec tiny_cnn() { return make_cnn(1, 4, 4, 0.0625); }

// The classifier's weight [4, 8] and bias [4] in flat weights, found through the built network.
std::pair<torch::Tensor, torch::Tensor> classifier_of(const ModelSpec& spec, const torch::Tensor& flat) {
  auto net = build_network(spec);
  load_weights(*net, flat);
  const auto params = net->parameters();
  return {params[params.size() - 2].detach().clone(), params.back().detach().clone()};
}

TaskResult update(std::int64_t device, const torch::Tensor& weights, const torch::Tensor& gather) {
  TaskResult t;
  t.device = device, t.weights = weights, t.gather = gather, t.local_samples = 10;
  return t;
}

Experiment quickstart(const std::string& algorithm, std::vector<std::string> more = {}) {
  std::vector<std::string> o = {"data.dataset=synthetic", "data.synthetic_channels=1", "data.synthetic_size=28",
                                "data.train_samples=400", "data.test_samples=50", "data.partition=shards",
                                "data.shards_per_device=1", "devices.count=4", "devices.memory=estimated",
                                "algorithm.rates=1,0.5", "algorithm.name=" + algorithm};
  o.insert(o.end(), more.begin(), more.end());
  return Experiment::build(load_config(EDGESIM_SOURCE_DIR "/experiments/quickstart.toml", o));
}

}  // namespace

TEST_CASE("HeteroFL label split: classifier rows are where the built network keeps them", "[heterofl][label_split]") {
  const ModelSpec spec = tiny_cnn();
  const auto rows = classifier_rows(spec);
  REQUIRE(rows.size() == 2);  // the output layer's weight and bias
  // Independently: the classifier's tensors are the last two parameters of the network.
  auto net = build_network(spec);
  std::int64_t offset = 0;
  const auto params = net->parameters();
  for (std::size_t i = 0; i + 2 < params.size(); ++i) offset += params[i].numel();
  CHECK(rows[0].offset == offset);
  CHECK(rows[0].row_length == 8);
  CHECK(rows[1].offset == offset + 4 * 8);
  CHECK(rows[1].row_length == 1);
  // Exit heads are classifiers too; a language model's rows are its tied embedding's, once.
  ModelSpec with_exits = tiny_cnn();
  add_early_exits(with_exits);
  CHECK(classifier_rows(with_exits).size() == 2 + 2 * 2);
  TransformerShape t;
  t.vocab = 50, t.seq_len = 8, t.d_model = 16, t.heads = 2, t.ffn = 32, t.layers = 2;
  ModelSpec lm = make_transformer_lm(t, 1.0);
  add_early_exits(lm);
  const auto lm_rows = classifier_rows(lm);
  REQUIRE(lm_rows.size() == 1);
  CHECK(lm_rows[0].offset == 0);  // the token embedding is the first parameter
  CHECK(lm_rows[0].row_length == 16);
}

TEST_CASE("HeteroFL label split: a hand-worked merge of two devices", "[heterofl][label_split]") {
  // Device 0 holds classes {0, 1}, device 1 holds {1, 2}; nobody holds class 3. Device 0's
  // update is all 1s, device 1's all 3s; the global model is all 7s; uniform weights.
  const ModelSpec spec = tiny_cnn();
  const std::int64_t n = spec.state_count();
  const LabelSplit split(spec, {{0, 1}, {1, 2}});
  const TaskResult a = update(0, torch::full({n}, 1.0f), {}), b = update(1, torch::full({n}, 3.0f), {});
  torch::Tensor global = torch::full({n}, 7.0f);
  average_updates_label_split(global, {&a, &b}, Weighting::kUniform, split);
  const auto [w, bias] = classifier_of(spec, global);
  CHECK(torch::equal(w[0], torch::full({8}, 1.0f)));  // class 0: device 0 alone
  CHECK(torch::equal(w[1], torch::full({8}, 2.0f)));  // class 1: both, (1 + 3) / 2
  CHECK(torch::equal(w[2], torch::full({8}, 3.0f)));  // class 2: device 1 alone
  CHECK(torch::equal(w[3], torch::full({8}, 7.0f)));  // class 3: nobody, the global value stays
  CHECK(torch::equal(bias, torch::tensor({1.0f, 2.0f, 3.0f, 7.0f})));
  // Everything else: the plain average.
  const std::int64_t body = classifier_rows(spec)[0].offset;
  CHECK(torch::equal(global.narrow(0, 0, body), torch::full({body}, 2.0f)));

  // Sample weights (10 and 30 samples): class 1's row is (10·1 + 30·3) / 40 = 2.5, the others as before.
  TaskResult heavy = b;
  heavy.local_samples = 30;
  torch::Tensor g2 = torch::full({n}, 7.0f);
  average_updates_label_split(g2, {&a, &heavy}, Weighting::kSamples, split);
  CHECK(torch::equal(classifier_of(spec, g2).second, torch::tensor({1.0f, 2.5f, 3.0f, 7.0f})));
}

TEST_CASE("HeteroFL label split: a narrower device covers only its columns of the rows it holds", "[heterofl][label_split]") {
  // Device 1 trains width 0.5: its classifier reads the first 4 of the 8 hidden units.
  const ModelSpec spec = tiny_cnn();
  const std::int64_t n = spec.state_count();
  const SubmodelSpec half = prefix_submodel(spec, 0.5);
  const auto gather = gather_tensor(gather_index(spec, half));
  const LabelSplit split(spec, {{0, 1}, {1, 2}});
  const TaskResult a = update(0, torch::full({n}, 1.0f), {});
  const TaskResult b = update(1, torch::full({gather.numel()}, 3.0f), gather);
  torch::Tensor global = torch::full({n}, 7.0f);
  average_updates_label_split(global, {&a, &b}, Weighting::kUniform, split);
  const auto [w, bias] = classifier_of(spec, global);
  const auto kept = w.narrow(1, 0, 4), rest = w.narrow(1, 4, 4);
  CHECK(torch::equal(kept[1], torch::full({4}, 2.0f)));
  CHECK(torch::equal(rest[1], torch::full({4}, 1.0f)));  // device 1 does not hold those columns
  CHECK(torch::equal(kept[2], torch::full({4}, 3.0f)));
  CHECK(torch::equal(rest[2], torch::full({4}, 7.0f)));  // held by nobody: unchanged
  CHECK(torch::equal(kept[0], torch::full({4}, 1.0f)));
  CHECK(torch::equal(bias, torch::tensor({1.0f, 2.0f, 3.0f, 7.0f})));
}

TEST_CASE("HeteroFL and FedRolex label-split by default, FjORD does not; the key switches it", "[heterofl][label_split]") {
  for (const char* name : {"heterofl", "fedrolex", "fjord"}) {
    for (const char* key : {"auto", "on", "off"}) {
      const Experiment e = quickstart(name, {std::string("algorithm.label_split_merge=") + key});
      const bool expect_split = std::string(key) == "on" || (std::string(key) == "auto" && std::string(name) != "fjord");
      const auto labels = device_labels(e);
      REQUIRE(labels.size() == 4);
      for (std::size_t d = 0; d < 4; ++d) {
        std::vector<std::int64_t> from_histogram;
        for (std::size_t c = 0; c < e.partition.label_histogram[d].size(); ++c)
          if (e.partition.label_histogram[d][c] > 0) from_histogram.push_back(static_cast<std::int64_t>(c));
        CHECK(labels[d] == from_histogram);
      }
      auto algorithm = make_algorithm(e);
      const std::int64_t n = e.model.state_count();
      std::vector<TaskResult> updates;
      for (int d = 0; d < 4; ++d) {
        updates.push_back(update(d, torch::full({n}, float(d + 1)), {}));
        updates.back().local_samples = static_cast<std::int64_t>(e.partition.indices[d].size());
      }
      std::vector<const TaskResult*> accepted;
      for (const auto& u : updates) accepted.push_back(&u);
      torch::Tensor global = torch::zeros({n});
      algorithm->merge(global, accepted);
      const auto rows = classifier_rows(e.model);
      const std::int64_t bias = rows.back().offset;
      for (std::int64_t c = 0; c < e.model.num_classes; ++c) {
        // The expected bias entry of class c, computed from the partition.
        double sum = 0, count = 0, weight_sum = 0, weighted = 0;
        for (int d = 0; d < 4; ++d) {
          const bool holds = !expect_split || e.partition.label_histogram[d][c] > 0;
          if (!holds) continue;
          sum += d + 1, count += 1;
          const double w = static_cast<double>(e.partition.indices[d].size());
          weighted += w * (d + 1), weight_sum += w;
        }
        const bool samples = std::string(name) == "fjord";  // FjORD's published weighting
        const double expected = count == 0 ? 0.0 : samples ? weighted / weight_sum : sum / count;
        INFO(name << " " << key << " class " << c);
        CHECK(global[bias + c].item<double>() == Approx(expected).margin(1e-5));
      }
    }
  }
}

TEST_CASE("HeteroFL label split, language model: a device's labels are the tokens of its windows", "[heterofl][label_split]") {
  if (!std::filesystem::is_directory("/usr/share/games/fortunes")) {
    WARN("Debian's fortunes not installed: skipped");
    return;
  }
  const Experiment e = Experiment::build(load_config(
      EDGESIM_SOURCE_DIR "/experiments/quickstart.toml",
      {"data.dataset=fortunes", "model.name=transformer", "model.seq_len=16", "data.train_samples=60",
       "data.test_samples=10", "data.partition=iid", "devices.count=3", "devices.memory=estimated", "algorithm.name=heterofl"}));
  const auto labels = device_labels(e);
  REQUIRE(labels.size() == 3);
  for (std::size_t d = 0; d < 3; ++d) {
    // Independently: every input and target token of the device's windows.
    const Examples ex = to_examples(e.train, e.partition.indices[d]);
    const auto tokens = std::get<0>(torch::_unique(torch::cat({ex.x.flatten(), ex.y.flatten()})));
    const auto sorted = std::get<0>(tokens.sort());
    CHECK(labels[d] == std::vector<std::int64_t>(sorted.data_ptr<std::int64_t>(), sorted.data_ptr<std::int64_t>() + sorted.numel()));
    CHECK(static_cast<std::int64_t>(labels[d].size()) < e.model.num_classes);  // so the split matters
  }
}
