#include "config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
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
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/utf8.h"
#include "config/taxonomy.h"
#include "google/protobuf/util/json_util.h"
#include "pg/pg.h"
#include "re2/re2.h"
#include "settings/settings.h"

namespace debrief::config {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;
using json = nlohmann::json;

// YAML to JSON with every scalar kept as a string; the schema decides its type later.
// Aliases are followed, so a few lines of nested aliases could stand for billions of nodes (a
// "billion laughs" file) or for themselves: a budget of nodes and a depth bound both, past which
// the text is refused. A configuration is a few thousand nodes.
constexpr int kYamlMostNodes = 1 << 20;
constexpr int kYamlDeepest = 64;

class TooBig : public std::exception {};

json YamlToJson(const YAML::Node& n, int depth, int& budget) {
  if (--budget < 0 || depth > kYamlDeepest) throw TooBig();
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
    case YAML::NodeType::Scalar:
      return n.Scalar();
    case YAML::NodeType::Sequence: {
      json a = json::array();
      for (const auto& e : n) a.push_back(YamlToJson(e, depth + 1, budget));
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n)
        o[kv.first.as<std::string>()] = YamlToJson(kv.second, depth + 1, budget);
      return o;
    }
  }
  return nullptr;
}

absl::StatusOr<json> LoadYaml(const std::string& text, const std::string& what) {
  if (!base::IsValidUtf8(text)) {
    int line = 1;
    for (absl::string_view l : absl::StrSplit(text, '\n')) {
      if (!base::IsValidUtf8(l)) break;
      ++line;
    }
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": line ", line, " is not UTF-8 text; save the file as UTF-8"));
  }
  try {
    int budget = kYamlMostNodes;
    return YamlToJson(YAML::Load(text), 0, budget);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  } catch (const TooBig&) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": nested more than ", kYamlDeepest,
                                                   " deep, or more than ", kYamlMostNodes,
                                                   " values once its aliases are followed"));
  }
}

void FillDefaults(v1::Config& c, const std::string& base_dir) {
  if (c.data_dir().empty()) c.set_data_dir(base_dir.empty() ? "." : base_dir);
  c.set_data_dir(settings::ResolvePath(base_dir, c.data_dir()));
  auto* http = c.mutable_http();
  if (http->listen().empty()) http->set_listen("127.0.0.1:8080");
  if (http->max_body_bytes() == 0) http->set_max_body_bytes(1 << 20);
  if (c.grpc().listen().empty()) c.mutable_grpc()->set_listen("127.0.0.1:9090");
  for (v1::TlsConfig* tls : {http->mutable_tls(), c.mutable_grpc()->mutable_tls()}) {
    if (!tls->cert_file().empty())
      tls->set_cert_file(settings::ResolvePath(c.data_dir(), tls->cert_file()));
    if (!tls->key_file().empty())
      tls->set_key_file(settings::ResolvePath(c.data_dir(), tls->key_file()));
    if (!tls->client_ca_file().empty())
      tls->set_client_ca_file(settings::ResolvePath(c.data_dir(), tls->client_ca_file()));
  }
  if (!c.grpc().has_local_token()) c.mutable_grpc()->set_local_token(true);
  if (c.store().has_postgres()) {
    auto* pg = c.mutable_store()->mutable_postgres();
    if (pg->max_batch() == 0) pg->set_max_batch(512);
    if (pg->read_connections() == 0) pg->set_read_connections(4);
    if (!pg->has_commit_delay()) pg->mutable_commit_delay();
    if (!pg->has_lease()) pg->mutable_lease()->set_seconds(15);
  } else {
    auto* sq = c.mutable_store()->mutable_sqlite();
    if (sq->path().empty()) sq->set_path("debrief.db");
    sq->set_path(settings::ResolvePath(c.data_dir(), sq->path()));
    if (sq->max_batch() == 0) sq->set_max_batch(512);
    if (sq->read_connections() == 0) sq->set_read_connections(4);
    // No added wait by default: deliveries that arrive during one commit's fsync form the next
    // group by themselves (measured: a 1 ms wait capped 32 connections at ~11k deliveries/s).
    if (!sq->has_commit_delay()) sq->mutable_commit_delay();
  }
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
  if (!cl->model().empty()) cl->set_model(settings::ResolvePath(c.data_dir(), cl->model()));
  auto* ob = c.mutable_outbox();
  if (!ob->has_initial_backoff()) ob->mutable_initial_backoff()->set_seconds(1);
  if (!ob->has_max_backoff()) ob->mutable_max_backoff()->set_seconds(600);
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
  if (lo->stall_min_tickets() == 0) lo->set_stall_min_tickets(10);
  if (!lo->has_stall_window()) lo->mutable_stall_window()->set_seconds(14 * 86400);
}

// The adapter files in conf_dir, in name order, appended to the config's helpdesks and
// trackers. Each holds `helpdesks:` and/or `trackers:` and nothing else; errors name the file.
absl::Status ReadConfDir(v1::Config& c, const std::string& base_dir) {
  if (base_dir.empty() && c.conf_dir().empty()) return absl::OkStatus();  // text, no folder
  const std::string data_dir =
      settings::ResolvePath(base_dir, c.data_dir().empty() ? "." : c.data_dir());
  const std::string dir =
      fs::path(settings::ResolvePath(data_dir, c.conf_dir().empty() ? "conf.d" : c.conf_dir()))
          .lexically_normal()
          .string();
  c.set_conf_dir(dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (fs::exists(dir, ec))
      return absl::InvalidArgumentError(absl::StrCat("conf_dir ", dir, " is not a folder"));
    return absl::OkStatus();
  }
  std::vector<std::string> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    std::error_code type_ec;
    if ((ext == ".yaml" || ext == ".yml") && it->path().filename().string()[0] != '.' &&
        it->path().filename() != kTaxonomyFileName && it->is_regular_file(type_ec))
      files.push_back(it->path().string());
  }
  if (ec) return absl::InvalidArgumentError(absl::StrCat("conf_dir ", dir, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  for (const std::string& path : files) {
    auto text = settings::ReadFile(path);
    if (!text.ok()) return text.status();
    auto j = LoadYaml(*text, path);
    if (!j.ok()) return j.status();
    if (j->is_null()) continue;
    if (!j->is_object())
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": expected `helpdesks:` and/or `trackers:` lists"));
    for (const auto& [key, value] : j->items())
      if (key != "helpdesks" && key != "trackers")
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": \"", key,
                         "\" does not belong in conf_dir, which holds adapters only "
                         "(helpdesks, trackers); put it in the main configuration file"));
    v1::Config part;
    if (absl::Status s = settings::FromJson(std::move(*j), &part, path); !s.ok()) return s;
    for (auto& h : *part.mutable_helpdesks()) *c.add_helpdesks() = std::move(h);
    for (auto& t : *part.mutable_trackers()) *c.add_trackers() = std::move(t);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<v1::Config> ParseConfig(const std::string& yaml, const std::string& base_dir) {
  auto j = LoadYaml(yaml, "config");
  if (!j.ok()) return j.status();
  if (j->is_null()) *j = json::object();
  v1::Config c;
  if (absl::Status s = settings::FromJson(std::move(*j), &c, ""); !s.ok()) return s;
  if (absl::Status s = ReadConfDir(c, base_dir); !s.ok()) return s;
  // A taxonomy applied with debriefctl or the Admin API (conf_dir/taxonomy.yaml) stands for the
  // one this file declares; otherwise taxonomy.file is read in.
  std::string taxonomy_path;
  bool applied = false;
  if (!c.conf_dir().empty()) {
    std::error_code ec;
    const std::string in_conf_dir = (fs::path(c.conf_dir()) / kTaxonomyFileName).string();
    applied = fs::is_regular_file(in_conf_dir, ec);
    if (applied) taxonomy_path = in_conf_dir;
  }
  if (!applied && !c.taxonomy().file().empty())
    taxonomy_path = settings::ResolvePath(base_dir, c.taxonomy().file());
  if (!taxonomy_path.empty()) {
    auto text = settings::ReadFile(taxonomy_path);
    if (!text.ok())
      return absl::NotFoundError(absl::StrCat("taxonomy.file: ", text.status().message()));
    auto t = ParseTaxonomyFile(*text, taxonomy_path);
    if (!t.ok()) return t.status();
    v1::TaxonomyConfig* tax = c.mutable_taxonomy();
    if (applied) tax->clear_categories();  // the applied file replaces the declared ones
    for (auto& cat : *t->mutable_categories()) *tax->add_categories() = std::move(cat);
    if (t->review_threshold() != 0 && (applied || tax->review_threshold() == 0))
      tax->set_review_threshold(t->review_threshold());
    tax->set_file(taxonomy_path);
  }
  FillDefaults(c, base_dir);
  if (absl::Status s = ValidateConfig(c); !s.ok()) return s;
  return c;
}

absl::StatusOr<v1::TaxonomyConfig> ParseTaxonomyFile(const std::string& text,
                                                     const std::string& path) {
  auto j = LoadYaml(text, path);
  if (!j.ok()) return j.status();
  if (j->is_null() || !j->is_object())
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected a `categories:` list"));
  v1::TaxonomyConfig t;
  if (absl::Status s = settings::FromJson(std::move(*j), &t, path); !s.ok()) return s;
  if (!t.file().empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": a taxonomy file cannot name another"));
  return t;
}

absl::StatusOr<v1::Config> LoadConfig(const std::string& path) {
  auto text = settings::ReadFile(path);
  if (!text.ok()) return text.status();
  std::string dir = fs::absolute(path).parent_path().string();
  auto c = ParseConfig(*text, dir);
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

namespace {

// A listener's address reachable from other hosts: anything but a loopback address
// (127.0.0.0/8, ::1, IPv4-mapped 127.x), "localhost" or a Unix socket. A host name other than
// localhost may resolve to anything, so it counts as reachable.
bool ReachableFromOutside(const std::string& listen) {
  if (absl::StartsWith(listen, "unix:")) return false;
  const size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? listen : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") return false;
  unsigned char v4[4], v6[16];
  if (inet_pton(AF_INET, host.c_str(), v4) == 1) return v4[0] != 127;
  if (inet_pton(AF_INET6, host.c_str(), v6) == 1) {
    static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(v6, kLoopback, 16) == 0) return false;
    return !(std::memcmp(v6, kMapped, 12) == 0 && v6[12] == 127);
  }
  return true;
}

absl::Status ValidateTls(absl::string_view name, const v1::TlsConfig& tls,
                         const std::string& listen, bool allow_plaintext, bool client_certs) {
  const bool on = !tls.cert_file().empty() || !tls.key_file().empty();
  if (on && (tls.cert_file().empty() || tls.key_file().empty()))
    return absl::InvalidArgumentError(absl::StrCat(name, ".tls needs both cert_file and key_file"));
  if (!client_certs && (!tls.client_ca_file().empty() || !tls.client_roles().empty()))
    return absl::InvalidArgumentError(
        absl::StrCat(name, ".tls: client certificates are for the gRPC listener (grpc.tls)"));
  if (!tls.client_roles().empty() && tls.client_ca_file().empty())
    return absl::InvalidArgumentError(
        absl::StrCat(name, ".tls.client_roles needs client_ca_file (the CAs that sign them)"));
  if (!tls.client_ca_file().empty() && !on)
    return absl::InvalidArgumentError(
        absl::StrCat(name, ".tls.client_ca_file needs cert_file and key_file"));
  for (const auto& [cn, role] : tls.client_roles())
    if (role != "agent" && role != "lead" && role != "admin")
      return absl::InvalidArgumentError(absl::StrCat(name, ".tls.client_roles[", cn, "]: \"", role,
                                                     "\" is not agent, lead or admin"));
  if (!on && !allow_plaintext && ReachableFromOutside(listen))
    return absl::InvalidArgumentError(absl::StrCat(
        name, ".listen ", listen,
        " is reachable from other hosts without TLS: tokens and tickets would cross the network "
        "in clear. Set ",
        name, ".tls (cert_file, key_file), listen on 127.0.0.1, or set ", name,
        ".allow_plaintext: true if a TLS-terminating proxy carries the traffic"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const v1::Config& c) {
  for (double v : {c.http().webhooks_per_second_per_source(), c.http().webhook_burst_per_source()})
    if (!(v >= 0) || v > 1e9)
      return absl::InvalidArgumentError(
          "http.webhooks_per_second_per_source and webhook_burst_per_source must be >= 0");
  if (absl::Status s =
          ValidateTls("http", c.http().tls(), c.http().listen(), c.http().allow_plaintext(), false);
      !s.ok())
    return s;
  if (absl::Status s =
          ValidateTls("grpc", c.grpc().tls(), c.grpc().listen(), c.grpc().allow_plaintext(), true);
      !s.ok())
    return s;
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
  if (absl::Status s = ValidateTaxonomyChanges(c.taxonomy()); !s.ok()) return s;
  if (c.classifier().kind() != "learned" && c.classifier().kind() != "keyword")
    return absl::InvalidArgumentError(
        absl::StrCat("classifier.kind \"", c.classifier().kind(), "\": learned or keyword"));
  if (c.classifier().kind() == "keyword" && !c.classifier().model().empty())
    return absl::InvalidArgumentError("classifier.model needs classifier.kind: learned");
  if (c.taxonomy().review_threshold() < 0 || c.taxonomy().review_threshold() > 1)
    return absl::InvalidArgumentError("taxonomy.review_threshold must be within 0..1");
  if (c.store().sqlite().read_connections() > 64)
    return absl::InvalidArgumentError("store.sqlite.read_connections must be at most 64");
  if (c.store().has_postgres()) {
    const auto& pc = c.store().postgres();
    if (pc.conninfo().empty())
      return absl::InvalidArgumentError(
          "store.postgres.conninfo is required, e.g. \"host=db.internal dbname=debrief "
          "user=debrief\"");
    if (pc.read_connections() > 64)
      return absl::InvalidArgumentError("store.postgres.read_connections must be at most 64");
    if (pc.lease().seconds() < 3)
      return absl::InvalidArgumentError(
          "store.postgres.lease must be at least 3s (a replica renews its leases every third of "
          "it)");
    if (absl::Status s = pg::CheckConninfo(pc.conninfo()); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat("store.postgres.conninfo ", s.message()));
  }
  if (c.loop().impact_min_growth() < 0)
    return absl::InvalidArgumentError("loop.impact_min_growth must be >= 0");
  if (c.loop().significance() <= 0 || c.loop().significance() >= 0.5)
    return absl::InvalidArgumentError("loop.significance must be within (0, 0.5), e.g. 0.05");
  return absl::OkStatus();
}

}  // namespace debrief::config
