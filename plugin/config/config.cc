#include "config/config.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "re2/re2.h"

namespace debrief::config {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using json = nlohmann::json;

// YAML to JSON with every scalar kept as a string; the schema decides its type later.
json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return n.Scalar();
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(YamlToJson(e));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return o;
    }
  }
  return nullptr;
}

absl::Status Normalize(json& j, const pb::Descriptor* d, const std::string& path);

std::string ScalarText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  return j.dump();
}

absl::Status NormalizeValue(json& j, const pb::FieldDescriptor* f, const std::string& path) {
  auto type_error = [&](const char* want) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected ", want, ", got ", j.dump()));
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
            path, ": unknown value ", j.dump(), " (one of: ", absl::StrJoin(names, ", "), ")"));
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
  auto s = pb::util::JsonStringToMessage(j.dump(), out, opts);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", s.message().as_string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::StatusOr<json> LoadYaml(const std::string& text, const std::string& what) {
  try {
    return YamlToJson(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
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

std::string Resolve(const std::string& base, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}

void FillDefaults(v1::Config& c, const std::string& base_dir) {
  if (c.data_dir().empty()) c.set_data_dir(base_dir.empty() ? "." : base_dir);
  c.set_data_dir(Resolve(base_dir, c.data_dir()));
  auto* http = c.mutable_http();
  if (http->listen().empty()) http->set_listen("127.0.0.1:8080");
  if (http->max_body_bytes() == 0) http->set_max_body_bytes(1 << 20);
  if (c.grpc().listen().empty()) c.mutable_grpc()->set_listen("127.0.0.1:9090");
  if (!c.store().has_sqlite()) c.mutable_store()->mutable_sqlite();
  auto* sq = c.mutable_store()->mutable_sqlite();
  if (sq->path().empty()) sq->set_path("debrief.db");
  sq->set_path(Resolve(c.data_dir(), sq->path()));
  if (sq->max_batch() == 0) sq->set_max_batch(512);
  // No added wait by default: deliveries that arrive during one commit's fsync form the next
  // group by themselves (measured: a 1 ms wait capped 32 connections at ~11k deliveries/s).
  if (!sq->has_commit_delay()) sq->mutable_commit_delay();
  if (c.default_tracker().empty() && c.trackers_size() > 0)
    c.set_default_tracker(c.trackers(0).id());
  auto* tax = c.mutable_taxonomy();
  if (tax->review_threshold() == 0) tax->set_review_threshold(0.5);
  auto* lp = c.mutable_link_policy();
  if (lp->open_after_tickets() == 0) lp->set_open_after_tickets(3);
  if (!lp->has_window()) lp->mutable_window()->set_seconds(7 * 24 * 3600);
  auto* pl = c.mutable_pipeline();
  if (pl->batch() == 0) pl->set_batch(256);
  if (!pl->has_poll_interval()) pl->mutable_poll_interval()->set_nanos(50 * 1000000);
  auto* cl = c.mutable_classifier();
  if (cl->kind().empty()) cl->set_kind("learned");
  if (!cl->model().empty()) cl->set_model(Resolve(c.data_dir(), cl->model()));
  auto* ob = c.mutable_outbox();
  if (!ob->has_initial_backoff()) ob->mutable_initial_backoff()->set_seconds(1);
  if (!ob->has_max_backoff()) ob->mutable_max_backoff()->set_seconds(600);
  if (ob->workers() == 0) ob->set_workers(4);
  auto* lo = c.mutable_loop();
  if (!lo->has_impact_interval()) lo->mutable_impact_interval()->set_seconds(3600);
  if (!lo->has_status_poll_interval()) lo->mutable_status_poll_interval()->set_seconds(300);
  if (!lo->has_reply_solved_within()) lo->mutable_reply_solved_within()->set_seconds(30 * 86400);
  if (!lo->has_settling_delay()) lo->mutable_settling_delay()->set_seconds(7 * 86400);
  if (!lo->has_verify_window()) lo->mutable_verify_window()->set_seconds(28 * 86400);
  if (lo->significance() == 0) lo->set_significance(0.05);
  if (lo->quotes() == 0) lo->set_quotes(3);
  if (lo->fixed_tag().empty()) lo->set_fixed_tag("debrief-fixed");
  if (lo->verify_attempts() == 0) lo->set_verify_attempts(3);
  if (lo->impact_min_growth() == 0) lo->set_impact_min_growth(1.0);
  if (lo->impact_min_new_tickets() == 0) lo->set_impact_min_new_tickets(10);
  if (!lo->has_impact_max_staleness()) lo->mutable_impact_max_staleness()->set_seconds(3 * 86400);
}

}  // namespace

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

absl::StatusOr<v1::Config> ParseConfig(const std::string& yaml, const std::string& base_dir) {
  auto j = LoadYaml(yaml, "config");
  if (!j.ok()) return j.status();
  if (j->is_null()) *j = json::object();
  if (absl::Status s = Normalize(*j, v1::Config::descriptor(), ""); !s.ok()) return s;
  v1::Config c;
  if (absl::Status s = JsonToMessage(*j, &c, "config"); !s.ok()) return s;
  if (!c.taxonomy().file().empty()) {
    std::string path = Resolve(base_dir, c.taxonomy().file());
    auto text = ReadFile(path);
    if (!text.ok())
      return absl::NotFoundError(absl::StrCat("taxonomy.file: ", text.status().message()));
    auto tj = LoadYaml(*text, path);
    if (!tj.ok()) return tj.status();
    if (absl::Status s = Normalize(*tj, v1::TaxonomyConfig::descriptor(), path); !s.ok()) return s;
    v1::TaxonomyConfig t;
    if (absl::Status s = JsonToMessage(*tj, &t, path); !s.ok()) return s;
    if (!t.file().empty())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": a taxonomy file cannot name another"));
    for (auto& cat : *t.mutable_categories()) *c.mutable_taxonomy()->add_categories() = cat;
    if (c.taxonomy().review_threshold() == 0)
      c.mutable_taxonomy()->set_review_threshold(t.review_threshold());
    c.mutable_taxonomy()->set_file(path);
  }
  FillDefaults(c, base_dir);
  if (absl::Status s = ValidateConfig(c); !s.ok()) return s;
  return c;
}

absl::StatusOr<v1::Config> LoadConfig(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::string dir = fs::absolute(path).parent_path().string();
  auto c = ParseConfig(*text, dir);
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

absl::Status ValidateConfig(const v1::Config& c) {
  std::set<std::string> ids;
  auto check_adapter = [&](const v1::AdapterConfig& a, const char* kind) -> absl::Status {
    if (a.id().empty())
      return absl::InvalidArgumentError(absl::StrCat(kind, ": every entry needs an id"));
    if (a.type().empty())
      return absl::InvalidArgumentError(absl::StrCat(kind, " ", a.id(), ": type is required"));
    if (!ids.insert(a.id()).second)
      return absl::InvalidArgumentError(absl::StrCat("adapter id ", a.id(), " is used twice"));
    for (char ch : a.id())
      if (!(absl::ascii_isalnum(ch) || ch == '-' || ch == '_'))
        return absl::InvalidArgumentError(absl::StrCat(
            "adapter id ", a.id(), ": use letters, digits, - and _ (it appears in URLs)"));
    return absl::OkStatus();
  };
  for (const auto& h : c.helpdesks())
    if (absl::Status s = check_adapter(h, "helpdesks"); !s.ok()) return s;
  std::set<std::string> trackers;
  for (const auto& t : c.trackers()) {
    if (absl::Status s = check_adapter(t, "trackers"); !s.ok()) return s;
    trackers.insert(t.id());
  }
  if (c.trackers_size() > 0 && !trackers.count(c.default_tracker()))
    return absl::InvalidArgumentError(
        absl::StrCat("default_tracker ", c.default_tracker(), " is not a configured tracker"));
  std::set<std::string> cats;
  for (const auto& cat : c.taxonomy().categories()) {
    if (cat.id().empty()) return absl::InvalidArgumentError("taxonomy: a category has no id");
    if (!cats.insert(cat.id()).second)
      return absl::InvalidArgumentError(absl::StrCat("taxonomy: category ", cat.id(), " twice"));
    if (cat.kind() == v1::CATEGORY_KIND_UNSPECIFIED)
      return absl::InvalidArgumentError(
          absl::StrCat("taxonomy: category ", cat.id(),
                       " needs a kind (complaint, praise, suggestion, question)"));
    if (!cat.routing().tracker_id().empty() && !trackers.count(cat.routing().tracker_id()))
      return absl::InvalidArgumentError(absl::StrCat("taxonomy: category ", cat.id(),
                                                     " routes to unknown tracker ",
                                                     cat.routing().tracker_id()));
    for (const auto& kw : cat.keywords()) {
      RE2 re(kw, RE2::Quiet);
      if (!re.ok())
        return absl::InvalidArgumentError(
            absl::StrCat("taxonomy: category ", cat.id(), ": keyword \"", kw, "\": ", re.error()));
    }
  }
  if (c.classifier().kind() != "learned" && c.classifier().kind() != "keyword")
    return absl::InvalidArgumentError(
        absl::StrCat("classifier.kind \"", c.classifier().kind(), "\": learned or keyword"));
  if (c.classifier().kind() == "keyword" && !c.classifier().model().empty())
    return absl::InvalidArgumentError("classifier.model needs classifier.kind: learned");
  if (c.taxonomy().review_threshold() < 0 || c.taxonomy().review_threshold() > 1)
    return absl::InvalidArgumentError("taxonomy.review_threshold must be within 0..1");
  if (c.loop().impact_min_growth() < 0)
    return absl::InvalidArgumentError("loop.impact_min_growth must be >= 0");
  if (c.loop().significance() <= 0 || c.loop().significance() >= 0.5)
    return absl::InvalidArgumentError("loop.significance must be within (0, 0.5), e.g. 0.05");
  return absl::OkStatus();
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
      const std::string path = Resolve(data_dir, ref.file());
      if (ref.create() && !fs::exists(path)) {
        if (!create)
          return absl::FailedPreconditionError(absl::StrCat(
              "secret: file ", path, " does not exist yet; debriefd makes it when it starts"));
        if (absl::Status s = MakeSecretFile(path); !s.ok()) return s;
        std::cerr << "debriefd: made a random secret in " << path << "\n";
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

absl::Status ParseSettings(const pb::Struct& settings, pb::Message* out,
                           const std::string& adapter_id) {
  std::string text;
  if (!pb::util::MessageToJsonString(settings, &text).ok())
    return absl::InternalError("settings are not representable as JSON");
  json j = json::parse(text);
  std::string where = absl::StrCat(adapter_id, ".settings");
  if (absl::Status s = Normalize(j, out->GetDescriptor(), where); !s.ok()) return s;
  return JsonToMessage(j, out, where);
}

}  // namespace debrief::config
