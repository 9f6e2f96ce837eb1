#include "config/config_diff.h"

#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"

namespace debrief::config {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

constexpr size_t kMaxShown = 200;  // longer values are cut, with "..."

std::string Cut(std::string s) {
  if (s.size() > kMaxShown) {
    size_t n = kMaxShown;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
    s = absl::StrCat(s.substr(0, n), "...");
  }
  return s;
}

bool LooksSecret(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  for (const char* word : {"secret", "token", "password", "passwd", "api_key", "apikey", "key_"})
    if (absl::StrContains(n, word)) return true;
  return n == "key";
}

std::string JsonOf(const Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  if (!google::protobuf::util::MessageToJsonString(m, &out, o).ok()) return "(unprintable)";
  return out;
}

std::string TextOf(const Message& m) {
  if (m.GetDescriptor()->full_name() == "google.protobuf.Duration") {
    const auto& d = static_cast<const google::protobuf::Duration&>(m);
    return absl::FormatDuration(absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()));
  }
  if (m.GetDescriptor()->full_name() == "google.protobuf.Struct" ||
      m.GetDescriptor()->full_name() == "google.protobuf.Value")
    return JsonOf(m);
  google::protobuf::TextFormat::Printer p;
  p.SetSingleLineMode(true);
  std::string out;
  p.PrintToString(m, &out);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string ScalarText(const Message& m, const FieldDescriptor* f, int index) {
  std::string out;
  google::protobuf::TextFormat::Printer p;
  p.SetSingleLineMode(true);
  p.PrintFieldValueToString(m, f, index, &out);
  if (f->type() == FieldDescriptor::TYPE_STRING && out.size() >= 2 && out.front() == '"')
    out = out.substr(1, out.size() - 2);  // quotes only get in the way of reading
  return out;
}

class Differ {
 public:
  explicit Differ(std::vector<ConfigChange>* out) : out_(out) {}

  void Messages(const Message& a, const Message& b, const std::string& path) {
    const std::string& type = a.GetDescriptor()->full_name();
    if (type == "google.protobuf.Duration" || type == "google.protobuf.Value") {
      Leaf(path, TextOf(a), TextOf(b));
      return;
    }
    if (type == "google.protobuf.Struct") {
      Struct(static_cast<const google::protobuf::Struct&>(a),
             static_cast<const google::protobuf::Struct&>(b), path);
      return;
    }
    const auto* d = a.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
      const FieldDescriptor* f = d->field(i);
      const std::string p = path.empty() ? f->name() : absl::StrCat(path, ".", f->name());
      if (f->is_repeated())
        Repeated(a, b, f, p);
      else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE)
        Singular(a, b, f, p);
      else
        Leaf(p, Scalar(a, f), Scalar(b, f), LooksSecret(f->name()));
    }
  }

 private:
  std::string Scalar(const Message& m, const FieldDescriptor* f) { return ScalarText(m, f, -1); }

  void Singular(const Message& a, const Message& b, const FieldDescriptor* f,
                const std::string& path) {
    const Reflection* ra = a.GetReflection();
    const Reflection* rb = b.GetReflection();
    if (!ra->HasField(a, f) && !rb->HasField(b, f)) return;
    const Message& ma = ra->GetMessage(a, f);
    const Message& mb = rb->GetMessage(b, f);
    if (f->message_type()->full_name() == "debrief.v1.SecretRef") {
      // A reference (an environment variable's or a file's name) is safe to show.
      Leaf(path, TextOf(ma), TextOf(mb));
      return;
    }
    Messages(ma, mb, path);
  }

  void Repeated(const Message& a, const Message& b, const FieldDescriptor* f,
                const std::string& path) {
    const Reflection* ra = a.GetReflection();
    const Reflection* rb = b.GetReflection();
    const int na = ra->FieldSize(a, f);
    const int nb = rb->FieldSize(b, f);
    const FieldDescriptor* key =
        f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
            ? f->message_type()->FindFieldByName(f->is_map() ? "key" : "id")
            : nullptr;
    if (key == nullptr || key->is_repeated() ||
        key->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
      // A list compared whole.
      auto list = [&](const Message& m, const Reflection* r, int n) {
        std::vector<std::string> items;
        for (int i = 0; i < n; ++i)
          items.push_back(f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE
                              ? TextOf(r->GetRepeatedMessage(m, f, i))
                              : ScalarText(m, f, i));
        return n == 0 ? std::string() : absl::StrCat("[", absl::StrJoin(items, ", "), "]");
      };
      Leaf(path, list(a, ra, na), list(b, rb, nb));
      return;
    }
    // Items matched by their id: order does not matter.
    std::map<std::string, const Message*> by_id_a, by_id_b;
    std::vector<std::string> order;
    for (int i = 0; i < na; ++i) {
      const Message& m = ra->GetRepeatedMessage(a, f, i);
      std::string id = m.GetReflection()->GetString(m, key);
      if (by_id_a.emplace(id, &m).second) order.push_back(id);
    }
    for (int i = 0; i < nb; ++i) {
      const Message& m = rb->GetRepeatedMessage(b, f, i);
      std::string id = m.GetReflection()->GetString(m, key);
      if (by_id_b.emplace(id, &m).second && !by_id_a.contains(id)) order.push_back(id);
    }
    for (const std::string& id : order) {
      const std::string p = absl::StrCat(path, "[", id, "]");
      auto ia = by_id_a.find(id);
      auto ib = by_id_b.find(id);
      if (ia == by_id_a.end())
        Leaf(p, "", Described(*ib->second));
      else if (ib == by_id_b.end())
        Leaf(p, Described(*ia->second), "");
      else
        Messages(*ia->second, *ib->second, p);
    }
  }

  // An item added or removed: its type where it has one (adapters), else its text.
  static std::string Described(const Message& m) {
    const FieldDescriptor* type = m.GetDescriptor()->FindFieldByName("type");
    if (type != nullptr && type->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
        !type->is_repeated())
      return absl::StrCat("type ", m.GetReflection()->GetString(m, type));
    return Cut(TextOf(m));
  }

  void Struct(const google::protobuf::Struct& a, const google::protobuf::Struct& b,
              const std::string& path) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.fields()) keys.insert(k);
    for (const auto& [k, v] : b.fields()) keys.insert(k);
    for (const std::string& k : keys) {
      auto ia = a.fields().find(k);
      auto ib = b.fields().find(k);
      const std::string p = absl::StrCat(path, ".", k);
      if (ia != a.fields().end() && ib != b.fields().end() && ia->second.has_struct_value() &&
          ib->second.has_struct_value()) {
        Struct(ia->second.struct_value(), ib->second.struct_value(), p);
        continue;
      }
      Leaf(p, ia == a.fields().end() ? "" : TextOf(ia->second),
           ib == b.fields().end() ? "" : TextOf(ib->second), LooksSecret(k));
    }
  }

  void Leaf(const std::string& path, std::string before, std::string after, bool secret = false) {
    if (before == after) return;
    if (secret) {
      before = before.empty() ? "" : "(set)";
      after = after.empty() ? "" : "(changed)";
    }
    out_->push_back({path, Cut(std::move(before)), Cut(std::move(after))});
  }

  std::vector<ConfigChange>* out_;
};

}  // namespace

std::vector<ConfigChange> DiffConfigs(const v1::Config& before, const v1::Config& after) {
  std::vector<ConfigChange> out;
  Differ(&out).Messages(before, after, "");
  return out;
}

std::vector<std::string> NeedRestart(const std::vector<ConfigChange>& changes) {
  static const char* const kFixed[] = {"http.listen",
                                       "http.max_body_bytes",
                                       "http.threads",
                                       "http.idle_timeout",
                                       "http.request_timeout",
                                       "http.max_connections",
                                       "http.tls",
                                       "http.allow_plaintext",
                                       "http.max_connections_per_source",
                                       "http.webhooks_per_second_per_source",
                                       "http.webhook_burst_per_source",
                                       "grpc.",
                                       "store.",
                                       "data_dir",
                                       "api.session_key",
                                       "api.threads"};
  std::vector<std::string> out;
  for (const ConfigChange& c : changes) {
    for (const char* fixed : kFixed) {
      if (c.path == fixed || (absl::EndsWith(fixed, ".") && absl::StartsWith(c.path, fixed)) ||
          absl::StartsWith(c.path, absl::StrCat(fixed, "."))) {
        out.push_back(absl::StrCat(c.path, ": ", c.before.empty() ? "(unset)" : c.before, " -> ",
                                   c.after.empty() ? "(unset)" : c.after));
        break;
      }
    }
  }
  return out;
}

}  // namespace debrief::config
