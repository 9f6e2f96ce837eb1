#pragma once

#include <pthread.h>

#include <string>

#include "absl/strings/string_view.h"

namespace debrief::base {

// Names the calling thread, so `top -H`, `ps -L`, perf and gdb tell debriefd's threads apart
// (http-0, inbox-commit, pipeline, ...). Linux keeps the first 15 bytes.
inline void NameThisThread(absl::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace debrief::base
