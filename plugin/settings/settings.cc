#include "settings/settings.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "google/protobuf/util/json_util.h"

namespace debrief::settings {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using json = nlohmann::json;

absl::Status Normalize(json& j, const pb::Descriptor* d, const std::string& path);

// JSON text of a value for a message; bytes that are not UTF-8 become U+FFFD (dump() would
// throw on them).
std::string Text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string ScalarText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return Text(j);
}

absl::Status NormalizeValue(json& j, const pb::FieldDescriptor* f, const std::string& path) {
  auto type_error = [&](const char* want) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected ", want, ", got ", Text(j)));
  };
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
      const std::string& name = f->message_type()->full_name();
      if (name == "google.protobuf.Duration") {
        if (j.is_object() || j.is_array()) return type_error("a duration such as 30s or 7d");
        auto d = ParseHumanDuration(ScalarText(j));
        if (!d.ok())
          return absl::InvalidArgumentError(absl::StrCat(path, ": ", d.status().message()));
        j = absl::StrFormat("%.9fs", absl::ToDoubleSeconds(*d));
        return absl::OkStatus();
      }
      if (name == "google.protobuf.Struct" || name == "google.protobuf.Value" ||
          name == "google.protobuf.Timestamp")
        return absl::OkStatus();
      if (!j.is_object()) return type_error("a mapping");
      return Normalize(j, f->message_type(), path);
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      std::string s = absl::AsciiStrToLower(ScalarText(j));
      if (s == "true" || s == "yes" || s == "on")
        j = true;
      else if (s == "false" || s == "no" || s == "off")
        j = false;
      else
        return type_error("true or false");
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(ScalarText(j), &v)) return type_error("an integer");
      j = v;
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!absl::SimpleAtoi(ScalarText(j), &v)) return type_error("a non-negative integer");
      j = v;
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double v;
      if (!absl::SimpleAtod(ScalarText(j), &v)) return type_error("a number");
      j = v;
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      std::string s = absl::AsciiStrToUpper(ScalarText(j));
      if (f->enum_type()->FindValueByName(s) == nullptr) {
        std::vector<std::string> names;
        for (int i = 1; i < f->enum_type()->value_count(); ++i)
          names.push_back(absl::AsciiStrToLower(f->enum_type()->value(i)->name()));
        return absl::InvalidArgumentError(absl::StrCat(
            path, ": unknown value ", Text(j), " (one of: ", absl::StrJoin(names, ", "), ")"));
      }
      j = s;
      return absl::OkStatus();
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      if (j.is_object() || j.is_array()) return type_error("a string");
      j = ScalarText(j);
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

// Rewrites j in place into Protobuf's JSON mapping of message d, checking every key.
absl::Status Normalize(json& j, const pb::Descriptor* d, const std::string& path) {
  if (!j.is_object())
    return absl::InvalidArgumentError(
        absl::StrCat(path.empty() ? "config" : path, ": expected a mapping"));
  json out = json::object();
  for (auto& [key, value] : j.items()) {
    std::string at = path.empty() ? key : absl::StrCat(path, ".", key);
    const pb::FieldDescriptor* f = d->FindFieldByName(key);
    for (int i = 0; f == nullptr && i < d->field_count(); ++i)
      if (d->field(i)->json_name() == key) f = d->field(i);
    if (f == nullptr) {
      std::vector<std::string> known;
      for (int i = 0; i < d->field_count(); ++i) known.push_back(d->field(i)->name());
      return absl::InvalidArgumentError(
          absl::StrCat("unknown key ", at, " (known here: ", absl::StrJoin(known, ", "), ")"));
    }
    if (out.contains(f->json_name()) ||
        (!value.is_null() && key != f->name() && j.contains(f->name()) &&
         !j[f->name()].is_null()) ||
        (!value.is_null() && key != f->json_name() && j.contains(f->json_name()) &&
         !j[f->json_name()].is_null()))
      return absl::InvalidArgumentError(absl::StrCat(at, ": ", f->name(), " is written twice (as ",
                                                     f->name(), " and ", f->json_name(),
                                                     "); keep one"));
    if (value.is_null()) continue;
    if (f->is_map()) {
      if (!value.is_object())
        return absl::InvalidArgumentError(absl::StrCat(at, ": expected a mapping"));
      const pb::FieldDescriptor* vf = f->message_type()->map_value();
      for (auto& [k, v] : value.items())
        if (absl::Status s = NormalizeValue(v, vf, absl::StrCat(at, ".", k)); !s.ok()) return s;
    } else if (f->is_repeated()) {
      if (!value.is_array())
        return absl::InvalidArgumentError(absl::StrCat(at, ": expected a list"));
      for (size_t i = 0; i < value.size(); ++i)
        if (absl::Status s = NormalizeValue(value[i], f, absl::StrCat(at, "[", i, "]")); !s.ok())
          return s;
    } else {
      if (absl::Status s = NormalizeValue(value, f, at); !s.ok()) return s;
    }
    out[f->json_name()] = std::move(value);
  }
  j = std::move(out);
  return absl::OkStatus();
}

absl::Status JsonToMessage(const json& j, pb::Message* out, const std::string& what) {
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto s = pb::util::JsonStringToMessage(Text(j), out, opts);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message().as_string()));
  return absl::OkStatus();
}

// A new file of 64 random hex characters, readable by its owner only; an existing one is kept
// (O_EXCL), so two starts at once cannot overwrite each other's secret.
absl::Status MakeSecretFile(const std::string& path) {
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return absl::InternalError("secret: no random bytes from OpenSSL");
  std::string hex;
  for (unsigned char b : raw) absl::StrAppend(&hex, absl::Hex(b, absl::kZeroPad2));
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("secret: cannot create ", path, ": ", std::strerror(errno)));
  }
  hex.push_back('\n');
  const bool written = write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size());
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!written || !synced)
    return absl::FailedPreconditionError(absl::StrCat("secret: cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ResolvePath(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

absl::StatusOr<absl::Duration> ParseHumanDuration(const std::string& text) {
  std::string s = absl::AsciiStrToLower(std::string(absl::StripAsciiWhitespace(text)));
  if (s.empty()) return absl::InvalidArgumentError("empty duration");
  absl::Duration total;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (absl::ascii_isdigit(s[j]) || s[j] == '.')) ++j;
    double n;
    if (j == i || !absl::SimpleAtod(s.substr(i, j - i), &n))
      return absl::InvalidArgumentError(
          absl::StrCat("bad duration \"", text, "\" (write e.g. 500ms, 30s, 15m, 2h, 7d)"));
    size_t k = j;
    while (k < s.size() && absl::ascii_isalpha(s[k])) ++k;
    std::string unit = s.substr(j, k - j);
    if (unit == "ms")
      total += absl::Milliseconds(n);
    else if (unit == "s" || unit.empty())
      total += absl::Seconds(n);
    else if (unit == "m")
      total += absl::Minutes(n);
    else if (unit == "h")
      total += absl::Hours(n);
    else if (unit == "d")
      total += absl::Hours(24 * n);
    else if (unit == "w")
      total += absl::Hours(24 * 7 * n);
    else
      return absl::InvalidArgumentError(
          absl::StrCat("bad duration unit \"", unit, "\" in \"", text, "\""));
    i = k;
  }
  return total;
}

absl::Duration ToDuration(const pb::Duration& d, absl::Duration fallback) {
  if (d.seconds() == 0 && d.nanos() == 0) return fallback;
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

absl::Status FromJson(nlohmann::json j, google::protobuf::Message* out, const std::string& where) {
  if (j.is_null()) j = json::object();
  if (absl::Status s = Normalize(j, out->GetDescriptor(), where); !s.ok()) return s;
  return JsonToMessage(j, out, where.empty() ? "config" : where);
}

absl::StatusOr<std::string> ResolveSecret(const v1::SecretRef& ref, const std::string& data_dir,
                                          bool create) {
  switch (ref.source_case()) {
    case v1::SecretRef::kEnv: {
      const char* v = std::getenv(ref.env().c_str());
      if (v == nullptr || *v == '\0')
        return absl::FailedPreconditionError(
            absl::StrCat("secret: environment variable ", ref.env(), " is not set"));
      return std::string(v);
    }
    case v1::SecretRef::kFile: {
      const std::string path = ResolvePath(data_dir, ref.file());
      if (ref.create() && !fs::exists(path)) {
        if (!create)
          return absl::FailedPreconditionError(absl::StrCat(
              "secret: file ", path, " does not exist yet; debriefd makes it when it starts"));
        if (absl::Status s = MakeSecretFile(path); !s.ok()) return s;
        base::log::Info("settings", "made a random secret", {{"file", path}});
      }
      auto text = ReadFile(path);
      if (!text.ok())
        return absl::FailedPreconditionError(absl::StrCat("secret: cannot read file ", path));
      std::string s = *text;
      while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
      if (s.empty())
        return absl::FailedPreconditionError(absl::StrCat("secret: file ", path, " is empty"));
      return s;
    }
    case v1::SecretRef::SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("secret: name an env variable or a file");
}

absl::StatusOr<std::string> ResolveSecret(const v1::SecretRef& ref,
                                          const spi::AdapterContext& ctx) {
  using Mode = spi::AdapterContext::SecretFiles;
  if (ctx.secret_files == Mode::kCheck && ref.create() && !ref.file().empty() &&
      !fs::exists(ResolvePath(ctx.data_dir, ref.file())))
    return std::string("secret made by debriefd at its first start");
  return ResolveSecret(ref, ctx.data_dir, ctx.secret_files == Mode::kCreate);
}

absl::Status ParseSettings(const pb::Struct& settings, pb::Message* out,
                           const std::string& adapter_id) {
  std::string text;
  if (!pb::util::MessageToJsonString(settings, &text).ok())
    return absl::InternalError("settings are not representable as JSON");
  return FromJson(json::parse(text), out, absl::StrCat(adapter_id, ".settings"));
}

}  // namespace debrief::settings
