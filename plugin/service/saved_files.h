#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "debrief/v1/services.pb.h"

namespace debrief::service {

// Files debriefd writes for an admin (conf_dir's adapters and taxonomy, adapters' secrets):
// written one save at a time, put back byte for byte when the change does not apply.

// Saves and removals, one at a time across every engine a reload makes.
std::mutex& FilesMu();

// A file as it was before a save, to put back when the save does not apply.
struct Backup {
  std::string path;
  bool existed = false;
  std::string data;
  mode_t mode = 0600;
};

// FAILED_PRECONDITION when `path` is something other than a regular file, or unreadable.
absl::StatusOr<Backup> BackUp(const std::string& path);

// Puts every file back (a file that did not exist is removed); a file that cannot be put back
// is logged, for a person to fix.
void Restore(const std::vector<Backup>& written);

// After files were written and the configuration reloaded: OK when the reload applied them;
// otherwise the files are put back and the error says what was not done ("not saved: ...",
// naming the settings only a restart applies when that is why).
absl::Status KeepIfApplied(const absl::StatusOr<v1::ReloadResponse>& reload,
                           const std::vector<Backup>& written, absl::string_view not_done);

}  // namespace debrief::service
