// Admin: adapters checked, added, changed and removed without hand-written YAML. Each saved
// adapter is a file of its own in conf_dir (<id>.yaml), its secrets files of their own (0600)
// in data_dir/secrets; the configuration is then read again (Reload), and when that does not
// apply, the files go back to what they were.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "config/adapter_file.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "service/saved_files.h"
#include "service/service.h"
#include "settings/settings.h"

namespace debrief::service {
namespace {

namespace fs = std::filesystem;
namespace pb = google::protobuf;

bool ValidId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '_')) return false;
  return true;
}

// The comments of the settings messages (a FileDescriptorSet with source info), by file and
// location path.
class Docs {
 public:
  explicit Docs(const std::string& serialized) { set_.ParseFromString(serialized); }

  // A message's comment; for a file's top message without one, the comment above the file's
  // `package` line ("Settings of the `redmine` tracker adapter: ...").
  std::string Of(const pb::Descriptor* m) const {
    std::string text = Find(m->file()->name(), PathOf(m));
    if (text.empty() && m->containing_type() == nullptr)
      text = Find(m->file()->name(), {pb::FileDescriptorProto::kPackageFieldNumber});
    return text;
  }
  std::string Of(const pb::FieldDescriptor* f) const {
    std::vector<int> path = PathOf(f->containing_type());
    path.push_back(pb::DescriptorProto::kFieldFieldNumber);
    path.push_back(f->index());
    return Find(f->file()->name(), path);
  }

 private:
  static std::vector<int> PathOf(const pb::Descriptor* m) {
    std::vector<int> path;
    if (m->containing_type() != nullptr) {
      path = PathOf(m->containing_type());
      path.push_back(pb::DescriptorProto::kNestedTypeFieldNumber);
    } else {
      path.push_back(pb::FileDescriptorProto::kMessageTypeFieldNumber);
    }
    path.push_back(m->index());
    return path;
  }

  std::string Find(const std::string& file, const std::vector<int>& path) const {
    for (const pb::FileDescriptorProto& f : set_.file()) {
      if (f.name() != file) continue;
      for (const pb::SourceCodeInfo::Location& loc : f.source_code_info().location()) {
        if (!std::equal(loc.path().begin(), loc.path().end(), path.begin(), path.end())) continue;
        // Comment lines joined into one text: proto comments wrap at the column limit.
        std::vector<std::string> lines;
        for (const std::string* part : {&loc.leading_comments(), &loc.trailing_comments()})
          for (absl::string_view l : absl::StrSplit(*part, '\n')) {
            l = absl::StripAsciiWhitespace(l);
            if (!l.empty()) lines.emplace_back(l);
          }
        return absl::StrJoin(lines, " ");
      }
    }
    return "";
  }

  pb::FileDescriptorSet set_;
};

std::string TypeOf(const pb::FieldDescriptor* f) {
  if (f->is_map()) return "map";
  if (const pb::Descriptor* m = f->message_type()) {
    if (m->full_name() == "debrief.v1.SecretRef") return "secret";
    if (m->full_name() == "google.protobuf.Duration") return "duration";
    return "group";
  }
  if (f->is_repeated()) return "list";
  switch (f->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_BOOL:
      return "bool";
    case pb::FieldDescriptor::CPPTYPE_INT32:
    case pb::FieldDescriptor::CPPTYPE_INT64:
    case pb::FieldDescriptor::CPPTYPE_UINT32:
    case pb::FieldDescriptor::CPPTYPE_UINT64:
      return "int";
    case pb::FieldDescriptor::CPPTYPE_FLOAT:
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
      return "number";
    default:
      return "string";
  }
}

void AddFields(const pb::Descriptor* m, const Docs& docs, const std::string& prefix,
               pb::RepeatedPtrField<v1::SettingField>* out) {
  for (int i = 0; i < m->field_count(); ++i) {
    const pb::FieldDescriptor* f = m->field(i);
    v1::SettingField* s = out->Add();
    s->set_name(f->name());
    s->set_path(prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name()));
    s->set_type(TypeOf(f));
    s->set_help(docs.Of(f));
    if (s->type() == "group") AddFields(f->message_type(), docs, s->path(), s->mutable_fields());
  }
}

// The settings field a dotted path names, or nullptr.
const pb::FieldDescriptor* FieldAt(const pb::Descriptor* m, const std::string& path) {
  const pb::FieldDescriptor* f = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (m == nullptr) return nullptr;
    f = m->FindFieldByName(std::string(part));
    if (f == nullptr) f = m->FindFieldByCamelcaseName(std::string(part));
    if (f == nullptr) return nullptr;
    m = f->is_map() ? nullptr : f->message_type();
  }
  return f;
}

// A dotted path with the settings message's own field names ("writeBack.bearerToken" is
// "write_back.bearer_token"); "" when a part names no field.
std::string CanonicalPath(const pb::Descriptor* m, const std::string& path) {
  std::vector<std::string> names;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (m == nullptr) return "";
    const pb::FieldDescriptor* f = m->FindFieldByName(std::string(part));
    if (f == nullptr) f = m->FindFieldByCamelcaseName(std::string(part));
    if (f == nullptr) return "";
    names.push_back(f->name());
    m = f->is_map() ? nullptr : f->message_type();
  }
  return absl::StrJoin(names, ".");
}

pb::Value FileRef(const std::string& file) {
  pb::Value v;
  (*v.mutable_struct_value()->mutable_fields())["file"].set_string_value(file);
  return v;
}

// Every typed secret names a secret setting of the type: no other path becomes a file name.
absl::Status CheckSecretPaths(const v1::AdapterDraft& d, const pb::Descriptor* m) {
  for (const auto& [path, value] : d.secrets()) {
    const pb::FieldDescriptor* f = m == nullptr ? nullptr : FieldAt(m, path);
    if (f == nullptr || TypeOf(f) != "secret")
      return absl::InvalidArgumentError(absl::StrCat(
          "secrets: \"", path, "\" is not a secret setting of type ", d.config().type()));
    if (path != CanonicalPath(m, path))
      return absl::InvalidArgumentError(absl::StrCat("secrets: write ", path,
                                                     " as the settings message names it (",
                                                     CanonicalPath(m, path), ")"));
    if (value.empty())
      return absl::InvalidArgumentError(absl::StrCat("secrets: ", path, " is empty"));
    // Lines are allowed (a PEM key); a NUL byte is not, nor more than 16 KiB.
    if (value.size() > 16384 || value.find('\0') != std::string::npos)
      return absl::InvalidArgumentError(
          absl::StrCat("secrets: ", path, " must be text of at most 16 KiB"));
  }
  return absl::OkStatus();
}

// Settings keys as the settings message names its fields (JSON names such as "apiKey" become
// "api_key"), groups included, so that the paths below find them; unset (null) values are
// dropped, and a setting written under both its names is refused (which one the settings
// parser would take is not for a check to guess).
absl::Status Normalize(pb::Struct& s, const pb::Descriptor* m) {
  if (m == nullptr) return absl::OkStatus();
  std::vector<std::string> nulls;
  std::vector<std::pair<std::string, std::string>> renames;
  std::set<std::string> named;
  for (auto& [key, value] : *s.mutable_fields()) {
    if (value.kind_case() == pb::Value::kNullValue ||
        value.kind_case() == pb::Value::KIND_NOT_SET) {
      nulls.push_back(key);
      continue;
    }
    const pb::FieldDescriptor* f = m->FindFieldByName(key);
    if (f == nullptr) f = m->FindFieldByCamelcaseName(key);
    if (f == nullptr) continue;  // the adapter refuses an unknown key, naming it
    if (!named.insert(f->name()).second)
      return absl::InvalidArgumentError(
          absl::StrCat("settings: ", f->name(), " is written twice; keep one"));
    if (f->name() != key) renames.emplace_back(key, f->name());
    if (TypeOf(f) == "group" && value.has_struct_value())
      if (absl::Status st = Normalize(*value.mutable_struct_value(), f->message_type()); !st.ok())
        return st;
  }
  for (const std::string& key : nulls) s.mutable_fields()->erase(key);
  for (const auto& [from, to] : renames) {
    (*s.mutable_fields())[to] = s.fields().at(from);
    s.mutable_fields()->erase(from);
  }
  return absl::OkStatus();
}

// A running adapter's config with its settings' keys as the settings message names them.
v1::AdapterConfig NormalizedCopy(const v1::AdapterConfig& a, const pb::Descriptor* m) {
  v1::AdapterConfig copy = a;
  (void)Normalize(*copy.mutable_settings(), m);  // it loaded, so it has no key twice
  return copy;
}

// The dotted paths of every secret setting of a settings message.
void SecretPaths(const pb::Descriptor* m, const std::string& prefix,
                 std::vector<std::string>& out) {
  if (m == nullptr) return;
  for (int i = 0; i < m->field_count(); ++i) {
    const pb::FieldDescriptor* f = m->field(i);
    const std::string path = prefix.empty() ? f->name() : absl::StrCat(prefix, ".", f->name());
    if (TypeOf(f) == "secret") out.push_back(path);
    if (TypeOf(f) == "group") SecretPaths(f->message_type(), path, out);
  }
}

// The value at a dotted path of (normalized) settings, or nullptr.
const pb::Value* ValueAt(const pb::Struct& s, const std::string& path) {
  const pb::Struct* at = &s;
  const pb::Value* v = nullptr;
  for (absl::string_view part : absl::StrSplit(path, '.')) {
    if (at == nullptr) return v;  // a group that is not a mapping: present, and not a ref
    auto it = at->fields().find(std::string(part));
    if (it == at->fields().end()) return nullptr;
    v = &it->second;
    at = v->has_struct_value() ? &v->struct_value() : nullptr;
  }
  return v;
}

bool SameValue(const pb::Value& a, const pb::Value& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// The file Debrief writes a typed secret to, relative to data_dir.
std::string SecretFile(const std::string& id, const std::string& path) {
  return absl::StrCat("secrets/", id, ".", path);
}

// A draft's secret settings that are not typed in may only keep exactly what the running
// adapter of this id (one of conf_dir's, its settings normalized) has there. Anything else
// (another file, a leftover secret file, a variable, `create`) would let a check read a secret
// that is not the draft's and send it wherever the draft's URL points.
absl::Status CheckSecretRefs(const v1::AdapterDraft& d, const pb::Descriptor* m,
                             const v1::AdapterConfig* running) {
  std::vector<std::string> paths;
  SecretPaths(m, "", paths);
  for (const std::string& path : paths) {
    if (d.secrets().contains(path)) continue;
    const pb::Value* v = ValueAt(d.config().settings(), path);
    if (v == nullptr) continue;
    if (running != nullptr) {
      const pb::Value* was = ValueAt(running->settings(), path);
      if (was != nullptr && SameValue(*v, *was)) continue;
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "settings.", path, ": a secret is typed (secrets.", path,
        "), not named; a saved adapter keeps its own (", SecretFile(d.config().id(), path), ")"));
  }
  return absl::OkStatus();
}

absl::Status WriteSecret(const std::string& path, const std::string& value) {
  return config::WriteFileAtomically(path, absl::StrCat(value, "\n"), 0600);
}

// The adapters a conf_dir file holds, by id ("" for an entry without one); empty when it
// cannot be read.
std::vector<std::string> IdsIn(const std::string& path) {
  std::vector<std::string> ids;
  try {
    YAML::Node n = YAML::LoadFile(path);
    for (const char* key : {"helpdesks", "trackers"})
      if (n.IsMap() && n[key] && n[key].IsSequence())
        for (const auto& a : n[key])
          ids.push_back(a.IsMap() && a["id"] ? a["id"].as<std::string>("") : "");
  } catch (const YAML::Exception&) {
    ids.clear();
  }
  return ids;
}

}  // namespace

std::string Service::ManagedFile(const std::string& id) const {
  if (d_.config.conf_dir().empty() || !ValidId(id)) return "";
  const std::string path = absl::StrCat(d_.config.conf_dir(), "/", id, ".yaml");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return "";
  // Only a file of this one adapter is the console's to change: one written by hand with
  // several adapters in it stays as it is.
  const std::vector<std::string> ids = IdsIn(path);
  return ids.size() == 1 && ids[0] == id ? path : "";
}

const v1::AdapterConfig* Service::Configured(const std::string& id, std::string* kind) const {
  for (const auto& h : d_.config.helpdesks())
    if (h.id() == id) {
      if (kind != nullptr) *kind = "helpdesk";
      return &h;
    }
  for (const auto& t : d_.config.trackers())
    if (t.id() == id) {
      if (kind != nullptr) *kind = "tracker";
      return &t;
    }
  return nullptr;
}

absl::StatusOr<v1::ListAdapterTypesResponse> Service::ListAdapterTypes(
    const v1::ListAdapterTypesRequest&) {
  if (d_.registry == nullptr)
    return absl::FailedPreconditionError("this process has no adapter types");
  const Docs docs(d_.registry->settings_docs());
  v1::ListAdapterTypesResponse res;
  auto add = [&](const std::string& type, const std::string& kind, const pb::Descriptor* m) {
    v1::AdapterType* t = res.add_types();
    t->set_type(type);
    t->set_kind(kind);
    if (m == nullptr) return;
    t->set_help(docs.Of(m));
    AddFields(m, docs, "", t->mutable_fields());
  };
  for (const std::string& type : d_.registry->helpdesk_types())
    add(type, "helpdesk", d_.registry->helpdesk(type)->settings());
  for (const std::string& type : d_.registry->tracker_types())
    add(type, "tracker", d_.registry->tracker(type)->settings());
  return res;
}

absl::StatusOr<v1::CheckAdapterResponse> Service::CheckAdapter(const v1::CheckAdapterRequest& req) {
  absl::Status s;
  if (req.has_draft()) {
    s = CheckDraft(req.draft());  // a draft that makes no adapter fails the check, saying why
  } else if (auto h = d_.helpdesks.find(req.id()); h != d_.helpdesks.end()) {
    s = h->second->Check();
  } else if (auto t = d_.trackers.find(req.id()); t != d_.trackers.end()) {
    s = t->second->Check(d_.policy.CategoriesOf(req.id()));
  } else {
    return absl::NotFoundError(absl::StrCat("no adapter \"", req.id(), "\""));
  }
  v1::CheckAdapterResponse res;
  res.set_ok(s.ok());
  res.set_message(s.ok() ? "ok" : std::string(s.message()));
  return res;
}

absl::Status Service::CheckDraft(const v1::AdapterDraft& in) {
  if (d_.registry == nullptr || d_.http == nullptr)
    return absl::FailedPreconditionError("this process cannot check adapters");
  v1::AdapterDraft draft = in;
  const v1::AdapterConfig& c = draft.config();
  const spi::HelpdeskAdapterFactory* hf = d_.registry->helpdesk(c.type());
  const spi::TrackerAdapterFactory* tf = d_.registry->tracker(c.type());
  if (draft.kind() == "helpdesk") tf = nullptr;
  if (draft.kind() == "tracker") hf = nullptr;
  if (hf == nullptr && tf == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(
        "no ", draft.kind().empty() ? "adapter" : draft.kind(), " type \"", c.type(), "\""));
  if (!ValidId(c.id()))
    return absl::InvalidArgumentError(
        "id: use 1 to 64 letters, digits, - and _ (it appears in URLs and file names)");
  const pb::Descriptor* schema = hf ? hf->settings() : tf->settings();
  if (absl::Status s = Normalize(*draft.mutable_config()->mutable_settings(), schema); !s.ok())
    return s;
  if (absl::Status s = CheckSecretPaths(draft, schema); !s.ok()) return s;
  std::optional<v1::AdapterConfig> running;
  if (const v1::AdapterConfig* r = Configured(c.id()); r != nullptr && !ManagedFile(c.id()).empty())
    running = NormalizedCopy(*r, schema);
  if (absl::Status s = CheckSecretRefs(draft, schema, running ? &*running : nullptr); !s.ok())
    return s;
  // The typed secrets go to files of a private folder for the adapter to read, then away.
  v1::AdapterConfig config = c;
  std::string folder;
  if (!draft.secrets().empty()) {
    std::string tmpl = (fs::temp_directory_path() / "debrief-draft-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr)
      return absl::InternalError("cannot make a private folder for the draft's secrets");
    folder = tmpl;
  }
  absl::Cleanup remove = [&folder] {
    std::error_code ec;
    if (!folder.empty()) fs::remove_all(folder, ec);
  };
  int n = 0;
  for (const auto& [path, value] : draft.secrets()) {
    const std::string file = absl::StrCat(folder, "/", n++);
    if (absl::Status s = WriteSecret(file, value); !s.ok()) return s;
    config::SetSetting(*config.mutable_settings(), path, FileRef(file));
  }
  spi::AdapterContext ctx{*d_.http, d_.clock, d_.config.data_dir(),
                          spi::AdapterContext::SecretFiles::kCheck};
  if (hf != nullptr) {
    auto a = hf->Create(config, ctx);
    if (!a.ok()) return absl::InvalidArgumentError(a.status().message());
    return (*a)->Check();
  }
  auto a = tf->Create(config, ctx);
  if (!a.ok()) return absl::InvalidArgumentError(a.status().message());
  return (*a)->Check(d_.policy.CategoriesOf(c.id()));
}

v1::AdapterSetup Service::SetupOf(const std::string& kind, const v1::AdapterConfig& config) const {
  v1::AdapterSetup out;
  out.set_webhook_path(absl::StrCat("/webhooks/", config.id()));
  const std::string public_url(absl::StripSuffix(d_.config.http().public_url(), "/"));
  if (!public_url.empty()) out.set_webhook_url(absl::StrCat(public_url, out.webhook_path()));
  spi::SetupContext where{public_url.empty() ? out.webhook_path() : out.webhook_url(),
                          !public_url.empty()};
  std::vector<spi::SetupStep> steps;
  if (d_.registry != nullptr) {
    if (kind == "helpdesk") {
      if (const auto* f = d_.registry->helpdesk(config.type())) steps = f->Setup(config, where);
    } else if (const auto* f = d_.registry->tracker(config.type())) {
      steps = f->Setup(config, where);
    }
  }
  if (kind == "tracker" && steps.empty()) {  // a tracker that takes no webhooks: nothing to do
    out.clear_webhook_path();
    out.clear_webhook_url();
  }
  // Without http.public_url, every vendor's first step is the same: the address it reaches
  // Debrief at, which the steps' URL (a path only here) starts with.
  if (!steps.empty() && public_url.empty())
    steps.insert(steps.begin(),
                 {"Set Debrief's public address",
                  absl::StrCat("The URL shown is a path only: set http.public_url in debrief.yaml "
                               "to the address the ",
                               kind,
                               " reaches Debrief at (such as https://debrief.example.com; "
                               "http://127.0.0.1:8080 when it runs on this host). The "
                               "webhook URL is that address followed by this path."),
                  out.webhook_path()});
  for (spi::SetupStep& s : steps) {
    v1::SetupStep* o = out.add_steps();
    o->set_title(std::move(s.title));
    o->set_detail(std::move(s.detail));
    o->set_value(std::move(s.value));
  }
  return out;
}

absl::StatusOr<v1::GetAdapterSetupResponse> Service::GetAdapterSetup(
    const v1::GetAdapterSetupRequest& req) {
  v1::GetAdapterSetupResponse res;
  for (const auto& h : d_.config.helpdesks())
    if (h.id() == req.id()) {
      *res.mutable_setup() = SetupOf("helpdesk", h);
      return res;
    }
  for (const auto& t : d_.config.trackers())
    if (t.id() == req.id()) {
      *res.mutable_setup() = SetupOf("tracker", t);
      return res;
    }
  return absl::NotFoundError(absl::StrCat("no adapter \"", req.id(), "\""));
}

absl::StatusOr<v1::SaveAdapterResponse> Service::SaveAdapter(const v1::SaveAdapterRequest& req) {
  v1::AdapterDraft draft = req.draft();
  v1::AdapterConfig& c = *draft.mutable_config();
  if (d_.registry == nullptr || !d_.reload)
    return absl::FailedPreconditionError("this process cannot save adapters");
  if (d_.config.conf_dir().empty())
    return absl::FailedPreconditionError(
        "debriefd was started without a configuration file: there is no conf_dir to save into");
  if (!ValidId(c.id()))
    return absl::InvalidArgumentError(
        "id: use 1 to 64 letters, digits, - and _ (it appears in URLs and file names)");
  if (draft.kind().empty())
    draft.set_kind(d_.registry->helpdesk(c.type()) != nullptr ? "helpdesk" : "tracker");
  if (draft.kind() != "helpdesk" && draft.kind() != "tracker")
    return absl::InvalidArgumentError("kind: helpdesk or tracker");
  const pb::Descriptor* schema = nullptr;
  if (draft.kind() == "helpdesk" && d_.registry->helpdesk(c.type()) != nullptr)
    schema = d_.registry->helpdesk(c.type())->settings();
  else if (draft.kind() == "tracker" && d_.registry->tracker(c.type()) != nullptr)
    schema = d_.registry->tracker(c.type())->settings();
  else
    return absl::InvalidArgumentError(
        absl::StrCat("no ", draft.kind(), " type \"", c.type(), "\""));
  if (absl::Status s = Normalize(*c.mutable_settings(), schema); !s.ok()) return s;
  if (absl::Status s = CheckSecretPaths(draft, schema); !s.ok()) return s;
  for (const std::string& path : draft.unset_secrets()) {
    const pb::FieldDescriptor* f = FieldAt(schema, path);
    if (f == nullptr || TypeOf(f) != "secret" || path != CanonicalPath(schema, path) ||
        draft.secrets().contains(path) || ValueAt(c.settings(), path) != nullptr)
      return absl::InvalidArgumentError(absl::StrCat("unset_secrets: \"", path,
                                                     "\" is not a secret setting of ", c.type(),
                                                     " left out of the settings and not typed"));
  }
  std::lock_guard<std::mutex> one_at_a_time(FilesMu());
  const std::string file = absl::StrCat(d_.config.conf_dir(), "/", c.id(), ".yaml");
  const std::string managed = ManagedFile(c.id());
  std::string running_kind;
  std::optional<v1::AdapterConfig> running_copy;
  if (const v1::AdapterConfig* r = Configured(c.id(), &running_kind))
    running_copy = NormalizedCopy(*r, schema);
  const v1::AdapterConfig* running = running_copy ? &*running_copy : nullptr;
  std::error_code ec;
  if ((running != nullptr || fs::exists(file, ec)) && managed.empty())
    return absl::FailedPreconditionError(absl::StrCat(
        "adapter ", c.id(), " is not one the console saved (it is written in ", d_.config_file,
        " or in a file of ", d_.config.conf_dir(), " with other adapters); change it there"));
  if (!managed.empty() && !req.replace())
    return absl::AlreadyExistsError(
        absl::StrCat("adapter ", c.id(), " exists; to change it, save with replace"));
  if (!managed.empty() && running != nullptr) {
    if (running->type() != c.type() || running_kind != draft.kind())
      return absl::InvalidArgumentError(
          absl::StrCat("adapter ", c.id(), " is a ", running_kind, " of type ", running->type(),
                       "; remove it and add a new one to change its type"));
    // A secret neither typed nor named keeps what the adapter has.
    std::vector<std::string> paths;
    SecretPaths(schema, "", paths);
    const std::set<std::string> unset(draft.unset_secrets().begin(), draft.unset_secrets().end());
    for (const std::string& path : paths) {
      if (draft.secrets().contains(path) || ValueAt(c.settings(), path) != nullptr) continue;
      if (unset.contains(path)) continue;
      if (const pb::Value* was = ValueAt(running->settings(), path))
        config::SetSetting(*c.mutable_settings(), path, *was);
    }
  }
  if (absl::Status s = CheckSecretRefs(draft, schema, managed.empty() ? nullptr : running); !s.ok())
    return s;

  v1::SaveAdapterResponse res;
  if (req.skip_check()) {
    res.set_check("skipped");
  } else {
    absl::Status check = CheckDraft(draft);
    if (!check.ok())
      return absl::FailedPreconditionError(
          absl::StrCat("the check failed, nothing was saved: ", check.message()));
    res.set_check("ok");
  }

  // Everything written is backed up first, and put back when the save does not apply.
  const std::string secrets_dir = absl::StrCat(d_.config.data_dir(), "/secrets");
  std::vector<Backup> written;  // in order; restored in any order (distinct files)
  auto write = [&](const std::string& path, const std::string& data, mode_t mode) -> absl::Status {
    auto b = BackUp(path);
    if (!b.ok()) return b.status();
    if (absl::Status s = config::WriteFileAtomically(path, data, mode); !s.ok()) return s;
    written.push_back(*std::move(b));
    return absl::OkStatus();
  };
  if (!draft.secrets().empty()) {
    fs::create_directories(secrets_dir, ec);
    struct stat st {};
    if (lstat(secrets_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
      return absl::FailedPreconditionError(
          absl::StrCat(secrets_dir, " is not a folder of debriefd's user; nothing was saved"));
    if ((st.st_mode & 077) != 0) chmod(secrets_dir.c_str(), 0700);
  }
  for (const auto& [path, value] : draft.secrets()) {
    const std::string name = SecretFile(c.id(), path);
    const std::string full = absl::StrCat(d_.config.data_dir(), "/", name);
    if (absl::Status s = write(full, absl::StrCat(value, "\n"), 0600); !s.ok()) {
      Restore(written);
      return s;
    }
    config::SetSetting(*c.mutable_settings(), path, FileRef(name));
    res.add_secret_files(full);
  }
  const std::string note = absl::StrCat(
      absl::AsciiStrToUpper(draft.kind().substr(0, 1)), draft.kind().substr(1), " ", c.id(), " (",
      c.type(), "), saved ",
      absl::FormatTime("%Y-%m-%d %H:%M UTC", d_.clock.Now(), absl::UTCTimeZone()),
      ".\n"
      "Written by the admin console or debriefctl adapters (the audit log says who). Edit it\n"
      "by hand or with either; its secrets are in the files named (0600, in data_dir).\n"
      "debriefctl reload (or SIGHUP) applies a change made by hand.");
  fs::create_directories(d_.config.conf_dir(), ec);
  if (absl::Status s = write(file, config::AdapterFileYaml(draft.kind(), c, note), 0640); !s.ok()) {
    Restore(written);
    return s;
  }
  auto reload = d_.reload(v1::ReloadRequest(), "");
  if (absl::Status s = KeepIfApplied(reload, written, "saved"); !s.ok()) return s;
  for (const std::string& path : draft.unset_secrets())  // Debrief's own files only
    if (running != nullptr)
      if (const pb::Value* was = ValueAt(running->settings(), path);
          was != nullptr && SameValue(*was, FileRef(SecretFile(c.id(), path))))
        fs::remove(absl::StrCat(d_.config.data_dir(), "/", SecretFile(c.id(), path)), ec);
  base::log::Info("admin", "adapter saved",
                  {{"adapter", c.id()}, {"type", c.type()}, {"file", file}});
  res.set_file(file);
  *res.mutable_reload() = std::move(*reload);
  *res.mutable_setup() = SetupOf(draft.kind(), c);
  return res;
}

absl::StatusOr<v1::RemoveAdapterResponse> Service::RemoveAdapter(
    const v1::RemoveAdapterRequest& req) {
  if (!d_.reload) return absl::FailedPreconditionError("this process cannot remove adapters");
  if (!ValidId(req.id()))
    return absl::InvalidArgumentError(absl::StrCat("no adapter \"", req.id(), "\""));
  std::lock_guard<std::mutex> one_at_a_time(FilesMu());
  const std::string file = ManagedFile(req.id());
  std::string kind;
  const v1::AdapterConfig* running = Configured(req.id(), &kind);
  if (file.empty()) {
    if (running != nullptr)
      return absl::FailedPreconditionError(absl::StrCat(
          "adapter ", req.id(), " is not one the console saved (it is written in ", d_.config_file,
          " or in a file of ", d_.config.conf_dir(), " with other adapters); remove it there"));
    return absl::NotFoundError(absl::StrCat("no adapter \"", req.id(), "\""));
  }
  auto before = BackUp(file);
  if (!before.ok()) return before.status();
  std::error_code ec;
  fs::remove(file, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot remove ", file, ": ", ec.message()));
  auto reload = d_.reload(v1::ReloadRequest(), "");
  if (absl::Status s = KeepIfApplied(reload, {*before}, "removed"); !s.ok()) return s;
  // The secret files Debrief wrote for it go with it; files it named otherwise stay.
  if (running != nullptr) {
    const pb::Descriptor* schema = nullptr;
    if (kind == "helpdesk" && d_.registry && d_.registry->helpdesk(running->type()))
      schema = d_.registry->helpdesk(running->type())->settings();
    if (kind == "tracker" && d_.registry && d_.registry->tracker(running->type()))
      schema = d_.registry->tracker(running->type())->settings();
    std::vector<std::string> paths;
    SecretPaths(schema, "", paths);
    pb::Struct settings = running->settings();
    (void)Normalize(settings, schema);
    for (const std::string& path : paths) {
      const pb::Value* v = ValueAt(settings, path);
      if (v != nullptr && SameValue(*v, FileRef(SecretFile(req.id(), path))))
        fs::remove(absl::StrCat(d_.config.data_dir(), "/", SecretFile(req.id(), path)), ec);
    }
  }
  base::log::Info("admin", "adapter removed", {{"adapter", req.id()}, {"file", file}});
  v1::RemoveAdapterResponse res;
  *res.mutable_reload() = std::move(*reload);
  return res;
}

}  // namespace debrief::service
