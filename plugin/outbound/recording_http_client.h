#pragma once

#include <memory>
#include <string>

#include "debrief/spi/clock.h"
#include "debrief/spi/http_client.h"
#include "metrics/adapter_health.h"

namespace debrief::outbound {

// One adapter's view of the shared HTTP client: every call is passed on unchanged and its
// outcome recorded in the adapter's health. An answer counts as a success (2xx, 3xx, and
// 404, which adapters use to learn that something is absent); 429, or 403 saying when to
// retry or that the rate limit is spent, as a rate-limit wait; anything else, or no answer,
// as an error, described by its status and the method and URL without the query (where
// some vendors' tokens travel).
std::unique_ptr<spi::HttpClient> NewRecordingHttpClient(spi::HttpClient& inner,
                                                        metrics::AdapterHealth& health,
                                                        std::string adapter_id,
                                                        const spi::Clock& clock);

}  // namespace debrief::outbound
