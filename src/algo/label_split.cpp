#include "edgesim/algo/label_split.hpp"

#include <algorithm>
#include <limits>

#include "edgesim/model/aggregate.hpp"

namespace edgesim {

std::vector<std::vector<std::int64_t>> device_labels(const Experiment& e) {
  std::vector<std::vector<std::int64_t>> out(e.partition.indices.size());
  std::vector<char> seen(static_cast<std::size_t>(e.train.num_classes));
  for (std::size_t d = 0; d < out.size(); ++d) {
    std::fill(seen.begin(), seen.end(), 0);
    if (e.train.text) {
      const TokenWindows& w = e.train.windows;
      for (std::int64_t k : e.partition.indices[d]) {
        const std::int32_t* t = w.tokens.data() + w.starts.at(k);
        for (int i = 0; i <= w.seq_len; ++i) seen[t[i]] = 1;  // inputs [0, seq_len), targets [1, seq_len]
      }
    } else {
      for (std::int64_t k : e.partition.indices[d]) seen[e.train.images.labels.at(k)] = 1;
    }
    for (std::size_t c = 0; c < seen.size(); ++c)
      if (seen[c]) out[d].push_back(static_cast<std::int64_t>(c));
  }
  return out;
}

LabelSplit::LabelSplit(const ModelSpec& model, std::vector<std::vector<std::int64_t>> labels_per_device)
    : rows_(classifier_rows(model)), classes_(model.num_classes), first_row_entry_(std::numeric_limits<std::int64_t>::max()) {
  for (const ClassRows& r : rows_) first_row_entry_ = std::min(first_row_entry_, r.offset);
  for (auto& labels : labels_per_device) {
    auto held = torch::zeros({classes_ + 1}, torch::kFloat64);
    held[0] = 1.0;
    for (std::int64_t& c : labels) c += 1;
    if (!labels.empty()) held.index_fill_(0, gather_tensor(labels), 1.0);
    held_.push_back(held);
  }
}

torch::Tensor LabelSplit::entry_weights(std::int64_t device, const torch::Tensor& gather, std::int64_t global_size) const {
  const std::int64_t n = gather.defined() ? gather.numel() : global_size;
  auto w = torch::ones({n}, torch::kFloat64);
  // Only entries at or after the first classifier row can be one; the rest stay 1.
  torch::Tensor at, pos;
  if (gather.defined()) {
    at = (gather >= first_row_entry_).nonzero().squeeze(1);
    pos = gather.index_select(0, at);
  } else {
    at = torch::arange(std::min(first_row_entry_, global_size), global_size, torch::kInt64);
    pos = at;
  }
  auto cls = torch::full_like(pos, -1);  // the class whose row an entry is in, -1: none
  for (const ClassRows& r : rows_) {
    const auto rel = pos - r.offset;
    const auto in_rows = (rel >= 0) & (rel < classes_ * r.row_length);
    cls = torch::where(in_rows, rel.div(r.row_length, "floor"), cls);
  }
  w.index_copy_(0, at, held_.at(static_cast<std::size_t>(device)).index_select(0, cls + 1));
  return w;
}

void average_updates_label_split(torch::Tensor& global, const std::vector<const TaskResult*>& accepted,
                                 Weighting weighting, const LabelSplit& split) {
  if (accepted.empty()) return;
  CoverageAverage average(global.numel());
  for (const TaskResult* t : accepted)
    average.add(t->weights, t->gather, weighting == Weighting::kSamples ? static_cast<double>(t->local_samples) : 1.0,
                split.entry_weights(t->device, t->gather, global.numel()));
  global = average.merged(global);
}

}  // namespace edgesim
