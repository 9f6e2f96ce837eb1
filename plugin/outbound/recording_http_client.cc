#include "outbound/recording_http_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace debrief::outbound {
namespace {

class RecordingHttpClient final : public spi::HttpClient {
 public:
  RecordingHttpClient(spi::HttpClient& inner, metrics::AdapterHealth& health, std::string id,
                      const spi::Clock& clock)
      : inner_(inner), health_(health), id_(std::move(id)), clock_(clock) {}

  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& request) override {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<spi::HttpResponse> r = inner_.Send(request);
    health_.CallTimed(id_, absl::FromChrono(std::chrono::steady_clock::now() - started),
                      r.ok() ? r->status : 0);
    const absl::Time now = clock_.Now();
    if (!r.ok()) {
      // The client's own errors name the method and the URL without its query.
      health_.CallFailed(id_, r.status().ToString(), now);
      return r;
    }
    const int status = r->status;
    if (status < 400 || status == 404) {
      health_.CallAnswered(id_, now);
    } else if (status == 429 || (status == 403 && (!r->Header("retry-after").empty() ||
                                                   r->Header("x-ratelimit-remaining") == "0"))) {
      health_.RateLimited(id_, now);
    } else {
      const std::string& url = request.url;
      health_.CallFailed(id_,
                         absl::StrCat("HTTP ", status, " from ", request.method, " ",
                                      url.substr(0, url.find('?'))),
                         now);
    }
    return r;
  }

 private:
  spi::HttpClient& inner_;
  metrics::AdapterHealth& health_;
  const std::string id_;
  const spi::Clock& clock_;
};

}  // namespace

std::unique_ptr<spi::HttpClient> NewRecordingHttpClient(spi::HttpClient& inner,
                                                        metrics::AdapterHealth& health,
                                                        std::string adapter_id,
                                                        const spi::Clock& clock) {
  return std::make_unique<RecordingHttpClient>(inner, health, std::move(adapter_id), clock);
}

}  // namespace debrief::outbound
