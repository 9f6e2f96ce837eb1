#include "cli/ctl.h"

#include <iostream>

#include "google/protobuf/util/json_util.h"

namespace debrief::cli {

std::shared_ptr<grpc::Channel> Ctl::Channel() const {
  return grpc::CreateChannel(server, grpc::InsecureChannelCredentials());
}

int Print(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  std::cout << out;
  return 0;
}

int Fail(const grpc::Status& s) {
  std::cerr << "debriefctl: " << s.error_message() << " (" << s.error_code() << ")\n";
  return s.error_code() == grpc::StatusCode::NOT_FOUND ? 3 : 1;
}

int Fail(const absl::Status& s) {
  std::cerr << "debriefctl: " << s.message() << "\n";
  return 1;
}

}  // namespace debrief::cli
