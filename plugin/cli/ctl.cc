#include "cli/ctl.h"

#include <pwd.h>
#include <unistd.h>

#include <iostream>

#include "cli/ctl_output.h"
#include "google/protobuf/util/json_util.h"

namespace debrief::cli {

std::shared_ptr<grpc::Channel> Ctl::Channel() const {
  return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
}

void Identify(grpc::ClientContext& ctx) {
  std::string user;
  if (const passwd* pw = getpwuid(geteuid()); pw != nullptr && pw->pw_name != nullptr)
    user = pw->pw_name;
  else if (const char* u = getenv("USER"); u != nullptr)
    user = u;
  ctx.AddMetadata("debrief-actor", "debriefctl:" + (user.empty() ? std::string("unknown") : user));
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
