// debriefctl adapters types|add|edit|remove|setup|wait: adapters added and changed without
// hand-written YAML, through debriefd (Admin.SaveAdapter writes the file into conf_dir, checks
// first and reloads). On a terminal, `add` asks for what the flags did not give.
#include <openssl/rand.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/time_util.h"
#include "cli/ctl.h"
#include "cli/ctl_output.h"
#include "config/adapter_file.h"
#include "debrief/v1/services.grpc.pb.h"
#include "google/protobuf/struct.pb.h"
#include "settings/settings.h"

namespace debrief::cli {
namespace {

namespace pb = google::protobuf;

struct AdapterArgs {
  std::string type, id;
  std::vector<std::string> sets, secrets, unsets;
  bool replace = false, no_check = false, interactive = false, no_input = false;
  std::string wait = "0s";
  std::string timeout = "10m";
};

grpc::Status Unary(const Ctl& ctl, auto method, const auto& req, auto* res) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  auto stub = v1::Admin::NewStub(ctl.Channel());
  return ((*stub).*method)(&ctx, req, res);
}

// The settings of a type, flattened: groups' fields by their dotted path.
void Flatten(const pb::RepeatedPtrField<v1::SettingField>& in,
             std::vector<const v1::SettingField*>& out) {
  for (const auto& f : in) {
    if (f.type() == "group")
      Flatten(f.fields(), out);
    else
      out.push_back(&f);
  }
}

const v1::SettingField* FieldOf(const v1::AdapterType& t, const std::string& path) {
  std::vector<const v1::SettingField*> all;
  Flatten(t.fields(), all);
  for (const auto* f : all)
    if (f->path() == path) return f;
  return nullptr;
}

// A value as typed, into the settings Struct's value: a list is comma-separated, a map
// "key=value" pairs separated by commas; other values stay text (debriefd reads "30", "yes",
// "30s" by the setting's type).
absl::StatusOr<pb::Value> ValueOf(const v1::SettingField& f, const std::string& text) {
  pb::Value v;
  if (f.type() == "list") {
    auto* l = v.mutable_list_value();
    for (absl::string_view e : absl::StrSplit(text, ',', absl::SkipWhitespace()))
      l->add_values()->set_string_value(std::string(absl::StripAsciiWhitespace(e)));
  } else if (f.type() == "map") {
    auto* s = v.mutable_struct_value();
    for (absl::string_view e : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
      std::pair<absl::string_view, absl::string_view> kv =
          absl::StrSplit(e, absl::MaxSplits('=', 1));
      if (kv.second.empty() && !absl::StrContains(e, '='))
        return absl::InvalidArgumentError(
            absl::StrCat(f.path(), ": write KEY=VALUE pairs separated by commas"));
      (*s->mutable_fields())[std::string(absl::StripAsciiWhitespace(kv.first))].set_string_value(
          std::string(absl::StripAsciiWhitespace(kv.second)));
    }
  } else {
    v.set_string_value(text);
  }
  return v;
}

std::string Generated() {
  unsigned char b[32];
  RAND_bytes(b, sizeof b);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

// Whether a secret printed now is seen by a person at a terminal, not written to a file or a
// pipe (where a generated secret would outlive the moment).
bool ShownToAPerson() { return ForPeople() && isatty(STDOUT_FILENO) != 0; }

// A line from the terminal, not echoed for secrets.
std::string Ask(const std::string& prompt, bool hidden) {
  std::cerr << prompt << std::flush;
  termios old{};
  const bool tty = isatty(STDIN_FILENO) != 0;
  if (hidden && tty) {
    tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  if (!std::getline(std::cin, line)) line.clear();
  if (hidden && tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return std::string(absl::StripAsciiWhitespace(line));
}

std::string Wrapped(const std::string& text, const std::string& indent) {
  std::string out, line;
  for (absl::string_view w : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (!line.empty() && line.size() + w.size() + 1 > 88) {
      absl::StrAppend(&out, indent, line, "\n");
      line.clear();
    }
    absl::StrAppend(&line, line.empty() ? "" : " ", w);
  }
  if (!line.empty()) absl::StrAppend(&out, indent, line, "\n");
  return out;
}

// Settings from --set PATH=VALUE and secrets from --secret PATH=VALUE|@FILE|-|generate, then,
// on a terminal, questions for the settings still unset. Generated secrets are returned for
// showing once.
absl::Status Fill(const AdapterArgs& a, const v1::AdapterType& type, v1::AdapterDraft& draft,
                  std::vector<std::pair<std::string, std::string>>& generated) {
  pb::Struct& settings = *draft.mutable_config()->mutable_settings();
  std::set<std::string> given;
  for (const std::string& s : a.sets) {
    std::pair<std::string, std::string> kv = absl::StrSplit(s, absl::MaxSplits('=', 1));
    const v1::SettingField* f = FieldOf(type, kv.first);
    if (f == nullptr)
      return absl::InvalidArgumentError(absl::StrCat(
          "--set ", kv.first, ": ", type.type(), " has no such setting (debriefctl adapters types ",
          type.type(), " lists them)"));
    if (f->type() == "secret")
      return absl::InvalidArgumentError(absl::StrCat("--set ", kv.first,
                                                     ": a secret; give it with --secret ", kv.first,
                                                     "=VALUE|@FILE|-|generate"));
    auto v = ValueOf(*f, kv.second);
    if (!v.ok()) return v.status();
    config::SetSetting(settings, f->path(), *std::move(v));
    given.insert(f->path());
  }
  for (const std::string& path : a.unsets) {
    const v1::SettingField* f = FieldOf(type, path);
    if (f == nullptr)
      return absl::InvalidArgumentError(
          absl::StrCat("--unset ", path, ": ", type.type(), " has no such setting"));
    // Out of the settings, at its dotted path; a secret is also told to the server.
    std::vector<std::string> parts = absl::StrSplit(path, '.');
    pb::Struct* at = &settings;
    for (size_t i = 0; at != nullptr && i + 1 < parts.size(); ++i) {
      auto it = at->mutable_fields()->find(parts[i]);
      at = it != at->mutable_fields()->end() && it->second.has_struct_value()
               ? it->second.mutable_struct_value()
               : nullptr;
    }
    if (at != nullptr) at->mutable_fields()->erase(parts.back());
    if (f->type() == "secret") draft.add_unset_secrets(path);
    given.insert(path);
  }
  for (const std::string& s : a.secrets) {
    std::pair<std::string, std::string> kv = absl::StrSplit(s, absl::MaxSplits('=', 1));
    const v1::SettingField* f = FieldOf(type, kv.first);
    if (f == nullptr || f->type() != "secret")
      return absl::InvalidArgumentError(
          absl::StrCat("--secret ", kv.first, ": not a secret setting of ", type.type()));
    std::string value = kv.second;
    if (value == "-") {
      value = Ask(isatty(STDIN_FILENO) ? absl::StrCat(f->path(), " (hidden): ") : "", true);
    } else if (value == "generate") {
      if (!ShownToAPerson())
        return absl::InvalidArgumentError(absl::StrCat(
            "--secret ", kv.first,
            "=generate shows the secret once, on a terminal; for a script, make one (openssl "
            "rand -hex 32) and give it"));
      value = Generated();
      generated.emplace_back(f->path(), value);
    } else if (absl::StartsWith(value, "@")) {
      auto text = settings::ReadFile(value.substr(1));
      if (!text.ok()) return text.status();
      value = std::string(absl::StripTrailingAsciiWhitespace(*text));
    }
    (*draft.mutable_secrets())[f->path()] = value;
    given.insert(f->path());
  }
  const bool ask = !a.no_input && isatty(STDIN_FILENO) != 0 &&
                   (a.interactive || (a.sets.empty() && a.secrets.empty() && a.unsets.empty()));
  if (!ask) return absl::OkStatus();
  std::cerr << type.kind() << " " << type.type() << ": "
            << (type.help().empty() ? "" : Wrapped(type.help(), "").c_str())
            << "Press Enter to leave a setting unset (its default applies).\n\n";
  // Groups of settings (the generic helpdesk's JSON pointers, a write-back) are asked into
  // only when the person wants to set them.
  std::function<absl::Status(const pb::RepeatedPtrField<v1::SettingField>&)> ask_all =
      [&](const pb::RepeatedPtrField<v1::SettingField>& fields) -> absl::Status {
    for (const v1::SettingField& field : fields) {
      const v1::SettingField* f = &field;
      if (given.contains(f->path())) continue;
      std::cerr << f->path() << " (" << f->type() << ")\n" << Wrapped(f->help(), "  ");
      if (f->type() == "group") {
        std::vector<std::string> names;
        for (const auto& g : f->fields()) names.push_back(g.name());
        std::cerr << Wrapped(absl::StrCat("settings: ", absl::StrJoin(names, ", ")), "  ");
        const std::string yes = absl::AsciiStrToLower(Ask("  value (y sets them): ", false));
        if (yes == "y" || yes == "yes")
          if (absl::Status s = ask_all(f->fields()); !s.ok()) return s;
        continue;
      }
      if (f->type() == "secret") {
        std::string v = Ask(type.kind() == "helpdesk" ? "  value (hidden; \"generate\" makes one): "
                                                      : "  value (hidden): ",
                            true);
        if (v == "generate") {
          if (!ShownToAPerson())
            return absl::InvalidArgumentError(
                "generate shows the secret once, on the terminal, and standard output is not "
                "one; make one (openssl rand -hex 32) and type it");
          v = Generated();
          generated.emplace_back(f->path(), v);
        }
        if (!v.empty()) (*draft.mutable_secrets())[f->path()] = v;
        continue;
      }
      const std::string hint = f->type() == "list"  ? " (comma-separated)"
                               : f->type() == "map" ? " (KEY=VALUE, comma-separated)"
                                                    : "";
      std::string v = Ask(absl::StrCat("  value", hint, ": "), false);
      if (v.empty()) continue;
      auto value = ValueOf(*f, v);
      if (!value.ok()) return value.status();
      config::SetSetting(settings, f->path(), *std::move(value));
    }
    return absl::OkStatus();
  };
  if (absl::Status s = ask_all(type.fields()); !s.ok()) return s;
  return absl::OkStatus();
}

// Waits for a webhook from the adapter newer than `since` (or a refusal), printing what came.
int Wait(const Ctl& ctl, const std::string& id, absl::Duration timeout, absl::Time since) {
  const absl::Time deadline = absl::Now() + timeout;
  std::map<std::string, int64_t> refused_before;
  bool first = true;
  if (ForPeople())
    std::cout << "Waiting for the first webhook from " << id << "...\n" << std::flush;
  while (true) {
    v1::ListAdaptersResponse res;
    grpc::Status s = Unary(ctl, &v1::Admin::Stub::ListAdapters, v1::ListAdaptersRequest(), &res);
    if (!s.ok()) return Fail(s);
    const v1::AdapterInfo* info = nullptr;
    for (const auto& ad : res.adapters())
      if (ad.id() == id) info = &ad;
    if (info == nullptr) return Fail(absl::NotFoundError(absl::StrCat("no adapter \"", id, "\"")));
    const v1::AdapterHealth& h = info->health();
    if (h.has_last_webhook() && base::FromTimestamp(h.last_webhook()) >= since) {
      std::cout << "Webhook from " << id << " arrived at "
                << absl::FormatTime("%Y-%m-%d %H:%M:%S %Z", base::FromTimestamp(h.last_webhook()),
                                    absl::LocalTimeZone())
                << "; its signature verified.\n";
      return 0;
    }
    for (const auto& [reason, n] : h.refusals_last_hour()) {
      if (!first && n > refused_before[reason])
        std::cout << "A webhook from " << id << " was refused: " << reason << " (" << n
                  << " in the last hour). Still waiting for one that verifies...\n"
                  << std::flush;
      refused_before[reason] = n;
    }
    first = false;
    if (absl::Now() >= deadline) {
      std::cerr << "debriefctl: no webhook from " << id << " verified within "
                << absl::FormatDuration(timeout) << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int Save(const Ctl& ctl, const AdapterArgs& a, v1::AdapterDraft draft, bool replace,
         const std::vector<std::pair<std::string, std::string>>& generated) {
  const absl::Time started = absl::Now() - absl::Seconds(1);
  v1::SaveAdapterRequest req;
  *req.mutable_draft() = std::move(draft);
  req.set_replace(replace);
  req.set_skip_check(a.no_check);
  v1::SaveAdapterResponse res;
  grpc::Status s = Unary(ctl, &v1::Admin::Stub::SaveAdapter, req, &res);
  if (!s.ok()) return Fail(s);
  Print(res);
  for (const auto& [path, value] : generated)
    std::cout << "\n"
              << path << " (generated; shown this once, paste it on the vendor's side):\n  "
              << value << "\n";
  auto wait = settings::ParseHumanDuration(a.wait);
  if (!wait.ok()) return Fail(wait.status());
  if (*wait > absl::ZeroDuration() && !res.setup().webhook_path().empty()) {
    std::cout << "\n";
    return Wait(ctl, req.draft().config().id(), *wait, started);
  }
  return 0;
}

}  // namespace

void AddAdapterCommands(CLI::App& adapters, Ctl& ctl) {
  auto a = std::make_shared<AdapterArgs>();
  auto* types = adapters.add_subcommand("types", "the adapter types and the settings each takes");
  types->add_option("type", a->type, "one type's settings, with their help");
  types->callback([a, &ctl] {
    v1::ListAdapterTypesResponse res;
    grpc::Status s =
        Unary(ctl, &v1::Admin::Stub::ListAdapterTypes, v1::ListAdapterTypesRequest(), &res);
    if (!s.ok()) {
      ctl.rc = Fail(s);
      return;
    }
    if (!a->type.empty()) {
      v1::ListAdapterTypesResponse one;
      for (const auto& t : res.types())
        if (t.type() == a->type) *one.add_types() = t;
      if (one.types().empty()) {
        ctl.rc = Fail(absl::NotFoundError(absl::StrCat("no adapter type \"", a->type, "\"")));
        return;
      }
      res = std::move(one);
    }
    ctl.rc = Print(res);
  });

  auto add_flags = [a](CLI::App* c) {
    c->add_option("--set", a->sets, "a setting, PATH=VALUE (lists: a,b; maps: k=v,k2=v2)");
    c->add_option("--secret", a->secrets,
                  "a secret, PATH=VALUE, PATH=@FILE, PATH=- (standard input) or PATH=generate; "
                  "written to a 0600 file by debriefd, never shown again");
    c->add_option("--unset", a->unsets,
                  "leave a setting unset (its default applies); a secret's file is deleted");
    c->add_flag("--no-check", a->no_check, "save without checking (the vendor cannot be reached)");
    c->add_flag("-i,--interactive", a->interactive,
                "ask for every setting not given (the default on a terminal without --set)");
    c->add_flag("--no-input", a->no_input, "never ask, even on a terminal");
    c->add_option("--wait", a->wait,
                  "then wait this long for the first webhook (e.g. 10m; default: do not wait)");
  };
  auto* add = adapters.add_subcommand(
      "add", "add a helpdesk or tracker: checked, saved into conf_dir, applied at once");
  add->add_option("type", a->type, "its type (debriefctl adapters types)")->required();
  add->add_option("--id", a->id, "its id (letters, digits, - and _; it appears in URLs)")
      ->required();
  add->add_flag("--replace", a->replace, "replace an adapter of this id saved before");
  add_flags(add);
  add->callback([a, &ctl] {
    v1::ListAdapterTypesResponse types;
    grpc::Status s =
        Unary(ctl, &v1::Admin::Stub::ListAdapterTypes, v1::ListAdapterTypesRequest(), &types);
    if (!s.ok()) {
      ctl.rc = Fail(s);
      return;
    }
    const v1::AdapterType* type = nullptr;
    for (const auto& t : types.types())
      if (t.type() == a->type) type = &t;
    if (type == nullptr) {
      ctl.rc = Fail(absl::InvalidArgumentError(
          absl::StrCat("no adapter type \"", a->type, "\" (debriefctl adapters types)")));
      return;
    }
    v1::AdapterDraft draft;
    draft.set_kind(type->kind());
    draft.mutable_config()->set_id(a->id);
    draft.mutable_config()->set_type(a->type);
    std::vector<std::pair<std::string, std::string>> generated;
    if (absl::Status f = Fill(*a, *type, draft, generated); !f.ok()) {
      ctl.rc = Fail(f);
      return;
    }
    ctl.rc = Save(ctl, *a, std::move(draft), a->replace, generated);
  });

  auto* edit = adapters.add_subcommand(
      "edit", "change settings of an adapter saved in conf_dir (the others stay as they are)");
  edit->add_option("id", a->id)->required();
  add_flags(edit);
  edit->callback([a, &ctl] {
    v1::GetConfigResponse config;
    v1::ListAdapterTypesResponse types;
    grpc::Status s = Unary(ctl, &v1::Admin::Stub::GetConfig, v1::GetConfigRequest(), &config);
    if (s.ok())
      s = Unary(ctl, &v1::Admin::Stub::ListAdapterTypes, v1::ListAdapterTypesRequest(), &types);
    if (!s.ok()) {
      ctl.rc = Fail(s);
      return;
    }
    v1::AdapterDraft draft;
    for (const auto* list : {&config.config().helpdesks(), &config.config().trackers()})
      for (const auto& ad : *list)
        if (ad.id() == a->id) {
          *draft.mutable_config() = ad;
          draft.set_kind(list == &config.config().helpdesks() ? "helpdesk" : "tracker");
        }
    const v1::AdapterType* type = nullptr;
    for (const auto& t : types.types())
      if (t.type() == draft.config().type() && t.kind() == draft.kind()) type = &t;
    if (draft.config().id().empty() || type == nullptr) {
      ctl.rc = Fail(absl::NotFoundError(absl::StrCat("no adapter \"", a->id, "\"")));
      return;
    }
    AdapterArgs args = *a;
    if (!args.interactive) args.no_input = true;  // edit asks only when told to
    std::vector<std::pair<std::string, std::string>> generated;
    if (absl::Status f = Fill(args, *type, draft, generated); !f.ok()) {
      ctl.rc = Fail(f);
      return;
    }
    ctl.rc = Save(ctl, args, std::move(draft), /*replace=*/true, generated);
  });

  auto* remove = adapters.add_subcommand(
      "remove", "remove an adapter saved in conf_dir (its file and secret files), at once");
  remove->add_option("id", a->id)->required();
  remove->callback([a, &ctl] {
    v1::RemoveAdapterRequest r;
    r.set_id(a->id);
    ctl.rc = Call(&v1::Admin::Stub::RemoveAdapter, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* setup = adapters.add_subcommand(
      "setup", "what to set up on the vendor's side for an adapter's webhooks");
  setup->add_option("id", a->id)->required();
  setup->callback([a, &ctl] {
    v1::GetAdapterSetupRequest r;
    r.set_id(a->id);
    ctl.rc = Call(&v1::Admin::Stub::GetAdapterSetup, *v1::Admin::NewStub(ctl.Channel()), r);
  });

  auto* wait = adapters.add_subcommand(
      "wait", "wait for an adapter's next webhook and say whether it verified");
  wait->add_option("id", a->id)->required();
  wait->add_option("--timeout", a->timeout, "give up after this long (default 10m)");
  wait->callback([a, &ctl] {
    auto timeout = settings::ParseHumanDuration(a->timeout);
    if (!timeout.ok()) {
      ctl.rc = Fail(timeout.status());
      return;
    }
    ctl.rc = Wait(ctl, a->id, *timeout, absl::Now() - absl::Seconds(1));
  });
}

}  // namespace debrief::cli
