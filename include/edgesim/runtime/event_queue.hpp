#pragma once
// Finished tasks ordered by virtual time. MPI delivers results in whatever order executors
// finish on the host; the coordinator pushes them here and pops them in (virtual end time,
// device) order, so policies see the order the emulated devices would have produced — the
// same for any rank count.
#include <cstdint>
#include <queue>
#include <vector>

namespace edgesim {

struct TaskEvent {
  double time_s;
  std::int64_t device;
  std::size_t task;  // index into the caller's task list

  // Earliest first; ties broken by device id so the order is total and reproducible.
  bool operator>(const TaskEvent& o) const {
    return time_s != o.time_s ? time_s > o.time_s : device > o.device;
  }
};

class EventQueue {
 public:
  void push(const TaskEvent& e) { heap_.push(e); }
  TaskEvent pop() {
    TaskEvent e = heap_.top();
    heap_.pop();
    return e;
  }
  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }

 private:
  std::priority_queue<TaskEvent, std::vector<TaskEvent>, std::greater<TaskEvent>> heap_;
};

}  // namespace edgesim
