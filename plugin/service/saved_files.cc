#include "service/saved_files.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "config/adapter_file.h"
#include "settings/settings.h"

namespace debrief::service {

namespace fs = std::filesystem;

std::mutex& FilesMu() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

absl::StatusOr<Backup> BackUp(const std::string& path) {
  Backup b;
  b.path = path;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return b;  // does not exist
  if (!S_ISREG(st.st_mode))
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  auto text = settings::ReadFile(path);
  if (!text.ok())
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read ", path, " to keep it: ", text.status().message()));
  b.existed = true;
  b.data = *std::move(text);
  b.mode = st.st_mode & 0777;
  return b;
}

void Restore(const std::vector<Backup>& written) {
  for (const Backup& b : written) {
    std::error_code ec;
    absl::Status s;
    if (b.existed)
      s = config::WriteFileAtomically(b.path, b.data, b.mode);
    else if (fs::remove(b.path, ec); ec)
      s = absl::InternalError(ec.message());
    if (!s.ok())  // a file a later reload would read: said loudly, for a person to fix
      base::log::Error("admin", "could not put a file back after a save that did not apply",
                       {{"file", b.path}, {"error", s.ToString()}});
  }
}

absl::Status KeepIfApplied(const absl::StatusOr<v1::ReloadResponse>& reload,
                           const std::vector<Backup>& written, absl::string_view not_done) {
  if (reload.ok() && reload->applied()) return absl::OkStatus();
  Restore(written);
  if (!reload.ok())
    return absl::Status(reload.status().code(),
                        absl::StrCat("not ", not_done, ": ", reload.status().message()));
  return absl::FailedPreconditionError(absl::StrCat(
      "not ", not_done, ": the configuration file has changes only a restart applies (",
      absl::StrJoin(reload->restart_needed(), "; "), "); restart debriefd first"));
}

}  // namespace debrief::service
