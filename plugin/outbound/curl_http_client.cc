#include "outbound/curl_http_client.h"

#include <curl/curl.h>

#include <mutex>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace debrief::outbound {
namespace {

size_t OnBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* out) {
  absl::string_view line(data, size * n);
  size_t colon = line.find(':');
  auto* headers = static_cast<spi::HttpHeaders*>(out);
  if (absl::StartsWith(line, "HTTP/")) headers->clear();  // a redirect or 100-continue
  if (colon != absl::string_view::npos) {
    headers->emplace_back(absl::AsciiStrToLower(line.substr(0, colon)),
                          std::string(absl::StripAsciiWhitespace(line.substr(colon + 1))));
  }
  return size * n;
}

class CurlHttpClient final : public spi::HttpClient {
 public:
  explicit CurlHttpClient(CurlHttpClientOptions options) : options_(std::move(options)) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  ~CurlHttpClient() override {
    for (CURL* h : pool_) curl_easy_cleanup(h);
  }

  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& req) override {
    if (req.url.empty()) return absl::InvalidArgumentError("HTTP request without a URL");
    CURL* h = Take();
    spi::HttpResponse res;
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : req.headers)
      headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
    // curl adds "Expect: 100-continue" for large bodies; vendors' APIs do not need it.
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(absl::ToInt64Milliseconds(req.timeout)));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "debriefd/0.1");
    if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &res.body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &res.headers);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    Give(h);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return absl::DeadlineExceededError(
          absl::StrCat(req.method, " ", Redact(req.url), ": timed out"));
    if (rc != CURLE_OK)
      return absl::UnavailableError(
          absl::StrCat(req.method, " ", Redact(req.url), ": ", curl_easy_strerror(rc)));
    res.status = static_cast<int>(status);
    return res;
  }

 private:
  // URLs may carry credentials in the query (some vendors' tokens): never put them in errors.
  static std::string Redact(const std::string& url) { return url.substr(0, url.find('?')); }

  CURL* Take() {
    std::lock_guard<std::mutex> l(mu_);
    if (pool_.empty()) return curl_easy_init();
    CURL* h = pool_.back();
    pool_.pop_back();
    curl_easy_reset(h);  // keeps the connection cache
    return h;
  }
  void Give(CURL* h) {
    std::lock_guard<std::mutex> l(mu_);
    pool_.push_back(h);
  }

  const CurlHttpClientOptions options_;
  std::mutex mu_;
  std::vector<CURL*> pool_;
};

}  // namespace

std::unique_ptr<spi::HttpClient> NewCurlHttpClient(CurlHttpClientOptions options) {
  return std::make_unique<CurlHttpClient>(std::move(options));
}

}  // namespace debrief::outbound
