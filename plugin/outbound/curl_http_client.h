#pragma once

#include <memory>

#include "debrief/spi/http_client.h"

namespace debrief::outbound {

// spi::HttpClient over libcurl (OpenSSL): proxies from the environment, TLS verification on,
// HTTP/2 where offered, and connection reuse through a small pool of easy handles.
std::unique_ptr<spi::HttpClient> NewCurlHttpClient();

}  // namespace debrief::outbound
