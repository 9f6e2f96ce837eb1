#pragma once

#include <memory>
#include <string>

#include "debrief/spi/http_client.h"

namespace debrief::outbound {

struct CurlHttpClientOptions {
  // A PEM file of the CAs to trust for HTTPS instead of the system's (a private CA's); empty:
  // the system's. Verification stays on either way.
  std::string ca_file;
};

// spi::HttpClient over libcurl (OpenSSL): proxies from the environment, TLS verification on,
// HTTP/2 where offered, and connection reuse through a small pool of easy handles.
std::unique_ptr<spi::HttpClient> NewCurlHttpClient(CurlHttpClientOptions options = {});

}  // namespace debrief::outbound
