#pragma once

// Test peers for vendor adapters: a scripted HTTP client, and signatures computed by the
// openssl command line (an implementation independent of ours).
#include <gtest/gtest.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "debrief/spi/http_client.h"
#include "mocks/spi_mocks.h"

namespace debrief::testing {

inline std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command with `input` on stdin; returns stdout without the trailing newline.
inline std::string Shell(const std::string& cmd, const std::string& input) {
  TempDir dir;
  std::ofstream(dir.file("in"), std::ios::binary) << input;
  FILE* p = popen(absl::StrCat("(", cmd, ") < ", dir.file("in")).c_str(), "r");
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

// HMAC by `openssl dgst`, hex or base64 (openssl base64), never by our code.
inline std::string OpensslHmac(const std::string& digest, const std::string& key,
                               const std::string& message, bool base64) {
  std::string cmd = absl::StrCat("openssl dgst -", digest, " -hmac '", key, "'");
  if (base64) return Shell(absl::StrCat(cmd, " -binary | openssl base64 -A"), message);
  std::string out = Shell(absl::StrCat(cmd, " -hex"), message);
  return out.substr(out.rfind(' ') + 1);  // "HMAC-SHA256(stdin)= <hex>"
}

// A scripted HTTP peer: answers by method and URL substring, records every request.
class ScriptedHttp final : public spi::HttpClient {
 public:
  struct Answer {
    Answer(int s, std::string b, spi::HttpHeaders h = {})
        : status(s), body(std::move(b)), headers(std::move(h)) {}
    int status;
    std::string body;
    spi::HttpHeaders headers;
  };
  // Answers in order; the last one repeats.
  void On(const std::string& method, const std::string& url_part, std::vector<Answer> answers) {
    std::lock_guard<std::mutex> l(mu_);
    rules_.push_back({method, url_part, std::deque<Answer>(answers.begin(), answers.end())});
  }
  absl::StatusOr<spi::HttpResponse> Send(const spi::HttpRequest& r) override {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(r);
    for (auto& rule : rules_) {
      if (rule.method != r.method || !absl::StrContains(r.url, rule.url_part)) continue;
      Answer a = rule.answers.front();
      if (rule.answers.size() > 1) rule.answers.pop_front();
      spi::HttpResponse res;
      res.status = a.status;
      res.body = a.body;
      res.headers = a.headers;
      return res;
    }
    spi::HttpResponse res;  // anything unscripted succeeds with an empty object
    res.status = 200;
    res.body = r.method == "GET" ? "[]" : "{}";
    return res;
  }
  std::vector<spi::HttpRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  std::vector<spi::HttpRequest> writes() {
    std::vector<spi::HttpRequest> out;
    for (auto& r : requests())
      if (r.method != "GET") out.push_back(r);
    return out;
  }
  void Clear() {
    std::lock_guard<std::mutex> l(mu_);
    rules_.clear();
    requests_.clear();
  }

 private:
  struct Rule {
    std::string method, url_part;
    std::deque<Answer> answers;
  };
  std::mutex mu_;
  std::vector<Rule> rules_;
  std::vector<spi::HttpRequest> requests_;
};

}  // namespace debrief::testing
