#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace debrief::spi {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  std::string body;
  absl::Duration timeout = absl::Seconds(30);
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // names lower-cased
  std::string body;

  // The first header with this (lower-case) name, or empty.
  std::string Header(absl::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return {};
  }
};

// Outbound HTTP for adapters. The product implementation is libcurl (plugin/outbound); tests
// hand in a gMock. Thread-safe: one client is shared by every adapter.
//
// Send returns a response for every HTTP status, including 4xx and 5xx: interpreting them is
// the adapter's job. It returns a non-OK status only when no response was received:
// UNAVAILABLE for connection failures and DEADLINE_EXCEEDED for time-outs (both retryable),
// INVALID_ARGUMENT for a malformed request (not retryable).
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual absl::StatusOr<HttpResponse> Send(const HttpRequest& request) = 0;
};

}  // namespace debrief::spi
