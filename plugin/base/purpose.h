#pragma once

#include <string_view>

// What the calling thread is doing, for the adapters' call metrics: the executor names the
// outbox action it performs ("sync_task"), the task follower "status_poll", the reconciler
// "reconcile". An adapter's HTTP calls are timed under it, so a slow tracker shows which work
// it slows.
//
//   base::ScopedPurpose p("reconcile");
//   ... adapter calls ...
namespace debrief::base {

inline const char*& CurrentPurposeSlot() {
  thread_local const char* purpose = nullptr;
  return purpose;
}

// The purpose set on this thread, or "other". `purpose` must outlive the scope (a literal, or
// a descriptor's name).
inline const char* CurrentPurpose() {
  const char* p = CurrentPurposeSlot();
  return p != nullptr ? p : "other";
}

class ScopedPurpose {
 public:
  explicit ScopedPurpose(const char* purpose) : previous_(CurrentPurposeSlot()) {
    CurrentPurposeSlot() = purpose;
  }
  ~ScopedPurpose() { CurrentPurposeSlot() = previous_; }
  ScopedPurpose(const ScopedPurpose&) = delete;
  ScopedPurpose& operator=(const ScopedPurpose&) = delete;

 private:
  const char* previous_;
};

}  // namespace debrief::base
