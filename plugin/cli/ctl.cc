#include "cli/ctl.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "cli/bearer_channel.h"
#include "cli/ctl_output.h"
#include "google/protobuf/util/json_util.h"

namespace debrief::cli {
namespace {

std::string UserName() {
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr)
    return pw->pw_name;
  if (const char* u = getenv("USER"); u != nullptr && *u != '\0') return u;
  return "unknown";
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A file the user named that cannot be read is an error worth stopping for.
std::string ReadNamedFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "debriefctl: cannot read " << what << " " << path << "\n";
    std::exit(1);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether a gRPC target is this host: a Unix socket, localhost, or a loopback address.
bool OnThisHost(const std::string& target) {
  absl::string_view t = target;
  absl::ConsumePrefix(&t, "dns:///");
  absl::ConsumePrefix(&t, "ipv4:");
  absl::ConsumePrefix(&t, "ipv6:");
  if (absl::StartsWith(t, "unix:")) return true;
  std::string host(t.substr(0, t.rfind(':')));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

}  // namespace

std::vector<std::string> LocalTokenFiles() {
  return {"/var/lib/debrief/debriefctl.token", "var/debriefctl.token"};
}

const std::string& Ctl::Token() const {
  if (token_) return *token_;
  std::string file = token_file;
  if (file.empty())
    if (const char* f = getenv("DEBRIEF_TOKEN_FILE"); f != nullptr) file = f;
  if (!file.empty()) {
    token_ = std::string(absl::StripAsciiWhitespace(ReadNamedFile(file, "the token file")));
  } else if (const char* t = getenv("DEBRIEF_TOKEN"); t != nullptr && *t != '\0') {
    token_ = std::string(absl::StripAsciiWhitespace(t));
  } else if (token_ = std::string(); OnThisHost(server)) {
    // The local administrator's token goes to this host's debriefd only, never elsewhere.
    for (const std::string& f : LocalTokenFiles())
      if (std::string t = ReadFileOrEmpty(f); !t.empty()) {
        token_ = std::string(absl::StripAsciiWhitespace(t));
        break;
      }
  }
  return *token_;
}

std::shared_ptr<grpc::Channel> Ctl::Channel() const {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (tls || !ca.empty() || !cert.empty()) {
    grpc::SslCredentialsOptions o;
    if (!ca.empty()) o.pem_root_certs = ReadNamedFile(ca, "the CA file");
    if (!cert.empty()) o.pem_cert_chain = ReadNamedFile(cert, "the client certificate");
    if (!key.empty()) o.pem_private_key = ReadNamedFile(key, "the client key");
    creds = grpc::SslCredentials(o);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  return BearerChannel(server, creds, Token(), "debriefctl:" + UserName());
}

int Print(const google::protobuf::Message& m) {
  if (ForPeople()) {
    if (std::string text = Readable(m); !text.empty()) {
      std::cout << text;
      return 0;
    }
  }
  std::cout << (GetOutput() == Output::kYaml ? Yaml(m) : Json(m));
  return 0;
}

int Fail(const grpc::Status& s) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::cerr << "debriefctl: could not reach debriefd (" << s.error_message()
                << "); is it running, and is --server (or DEBRIEF_SERVER) its gRPC address?\n";
      return 4;
    case grpc::StatusCode::NOT_FOUND:
      std::cerr << "debriefctl: " << s.error_message() << "\n";
      return 3;
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      std::cerr << "debriefctl: refused: " << s.error_message() << "\n";
      return 5;
    default:
      std::cerr << "debriefctl: " << s.error_message() << " (" << s.error_code() << ")\n";
      return 1;
  }
}

int Fail(const absl::Status& s) {
  std::cerr << "debriefctl: " << s.message() << "\n";
  return s.code() == absl::StatusCode::kNotFound ? 3 : 1;
}

}  // namespace debrief::cli
