// The shared rules of synchronous rounds: selection, stragglers, sample-weighted merge.
#include <catch2/catch.hpp>

#include <set>

#include "edgesim/algo/round_rules.hpp"

using namespace edgesim;

namespace {
TaskResult finished(int device, double end_s, double download_s = 1.0) {
  TaskResult t;
  t.device = device;
  t.start_s = 0;
  t.download_s = download_s;
  t.compute_s = end_s - 2 * download_s;
  t.upload_s = download_s;
  t.end_s = end_s;
  t.bytes_up = 100;
  return t;
}
}  // namespace

TEST_CASE("fraction selection: sorted, distinct, the right count, seeded by round", "[rules]") {
  const auto a = select_fraction(16, 0.25, 7, 1);
  REQUIRE(a.size() == 4);
  CHECK(std::is_sorted(a.begin(), a.end()));
  CHECK(std::set<int>(a.begin(), a.end()).size() == 4);
  CHECK(a == select_fraction(16, 0.25, 7, 1));
  CHECK(a != select_fraction(16, 0.25, 7, 2));
  CHECK(select_fraction(16, 1.0, 7, 1).size() == 16);
  CHECK(select_fraction(16, 0.01, 7, 1).size() == 1);  // at least one device
}

TEST_CASE("wait for all: the round ends with its slowest task", "[rules]") {
  std::vector<TaskResult> tasks{finished(0, 5.0), finished(1, 20.0), finished(2, 7.0)};
  CHECK(close_wait_all(0.0, tasks) == 20.0);
}

TEST_CASE("deadline: late tasks are cancelled at the deadline", "[rules]") {
  std::vector<TaskResult> tasks{finished(0, 5.0), finished(1, 20.0), finished(2, 7.0)};
  CHECK(close_with_deadline(0.0, 10.0, tasks) == 10.0);
  CHECK(tasks[0].status == TaskStatus::kOk);
  CHECK(tasks[2].status == TaskStatus::kOk);
  CHECK(tasks[1].status == TaskStatus::kDropped);
  CHECK(tasks[1].end_s == 10.0);
  CHECK(tasks[1].compute_s == 9.0);  // 1 s download, then compute until the deadline
  CHECK(tasks[1].upload_s == 0.0);
  CHECK(tasks[1].bytes_up == 0);
  // Cancelled during its upload: the partial upload is time spent, but nothing arrives.
  std::vector<TaskResult> uploading{finished(0, 12.0)};
  CHECK(close_with_deadline(0.0, 11.5, uploading) == 11.5);
  CHECK(uploading[0].compute_s == 10.0);
  CHECK(uploading[0].upload_s == 0.5);
  CHECK(uploading[0].bytes_up == 0);
  // When everyone makes it, the round ends with the last task, not at the deadline.
  std::vector<TaskResult> early{finished(0, 5.0), finished(1, 7.0)};
  CHECK(close_with_deadline(0.0, 10.0, early) == 7.0);
}

TEST_CASE("merge: average weighted by local samples; nothing accepted keeps the model", "[rules]") {
  TaskResult a, b;
  a.local_samples = 1, a.weights = torch::full({3}, 1.0f);
  b.local_samples = 3, b.weights = torch::full({3}, 5.0f);
  torch::Tensor global = torch::zeros({3});
  average_updates(global, {&a, &b}, Weighting::kSamples);
  CHECK(torch::allclose(global, torch::full({3}, 4.0f)));
  torch::Tensor unchanged = torch::full({3}, 2.0f);
  average_updates(unchanged, {}, Weighting::kSamples);
  CHECK(torch::equal(unchanged, torch::full({3}, 2.0f)));
}
