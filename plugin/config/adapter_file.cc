#include "config/adapter_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/struct.pb.h"

namespace debrief::config {
namespace {

void Emit(YAML::Emitter& out, const google::protobuf::Value& v) {
  switch (v.kind_case()) {
    case google::protobuf::Value::kStructValue:
      // A secret's reference on one line, as people write it: {file: secrets/shop.secret}.
      if (v.struct_value().fields_size() <= 2 &&
          (v.struct_value().fields().contains("file") || v.struct_value().fields().contains("env")))
        out << YAML::Flow;
      out << YAML::BeginMap;
      for (const auto& [k, e] : v.struct_value().fields()) {
        out << YAML::Key << k << YAML::Value;
        Emit(out, e);
      }
      out << YAML::EndMap;
      return;
    case google::protobuf::Value::kListValue:
      out << YAML::BeginSeq;
      for (const auto& e : v.list_value().values()) Emit(out, e);
      out << YAML::EndSeq;
      return;
    case google::protobuf::Value::kNumberValue: {
      const double d = v.number_value();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
        out << static_cast<int64_t>(d);
      else
        out << d;
      return;
    }
    case google::protobuf::Value::kBoolValue:
      out << v.bool_value();
      return;
    case google::protobuf::Value::kStringValue:
      out << v.string_value();
      return;
    default:
      out << YAML::Null;
  }
}

}  // namespace

std::string AdapterFileYaml(const std::string& kind, const v1::AdapterConfig& adapter,
                            const std::string& note) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << (kind == "tracker" ? "trackers" : "helpdesks")
      << YAML::Value << YAML::BeginSeq << YAML::BeginMap;
  out << YAML::Key << "id" << YAML::Value << adapter.id();
  out << YAML::Key << "type" << YAML::Value << adapter.type();
  if (adapter.settings().fields_size() > 0) {
    google::protobuf::Value settings;
    *settings.mutable_struct_value() = adapter.settings();
    out << YAML::Key << "settings" << YAML::Value;
    Emit(out, settings);
  }
  out << YAML::EndMap << YAML::EndSeq << YAML::EndMap;
  std::string text;
  for (absl::string_view line : absl::StrSplit(note, '\n', absl::SkipEmpty()))
    absl::StrAppend(&text, "# ", line, "\n");
  absl::StrAppend(&text, out.c_str(), "\n");
  return text;
}

void SetSetting(google::protobuf::Struct& settings, const std::string& path,
                google::protobuf::Value value) {
  std::vector<std::string> parts = absl::StrSplit(path, '.');
  google::protobuf::Struct* at = &settings;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    google::protobuf::Value& v = (*at->mutable_fields())[parts[i]];
    if (!v.has_struct_value()) v.mutable_struct_value();
    at = v.mutable_struct_value();
  }
  (*at->mutable_fields())[parts.back()] = std::move(value);
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& data, mode_t mode) {
  // A fresh name nobody could have planted (mkostemp: O_EXCL, 0600), beside the file so that
  // the rename stays on one file system; ".tmp-XXXXXX" is no config file's extension.
  std::string tmp = absl::StrCat(path, ".tmp-XXXXXX");
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0)
    return absl::PermissionDeniedError(
        absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  fchmod(fd, mode);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      unlink(tmp.c_str());
      return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot write ", tmp, ": ", std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat("cannot replace ", path, ": ", std::strerror(err)));
  }
  // The rename itself survives a crash once the folder is flushed.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  if (const int d = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); d >= 0) {
    fsync(d);
    close(d);
  }
  return absl::OkStatus();
}

}  // namespace debrief::config
