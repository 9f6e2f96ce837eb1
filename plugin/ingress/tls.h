#pragma once

#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"

namespace debrief::ingress {

// The TLS settings every listener of debriefd uses: TLS 1.2 and 1.3 only, forward-secret AEAD
// ciphers (Mozilla's "intermediate" list), no renegotiation, no compression.
inline constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Checks that a certificate chain and its private key load and belong together, and that a
// CA file (optional) holds certificates. The error names the file and OpenSSL's reason, never
// the key's bytes.
absl::Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file,
                           const std::string& ca_file = "");

// A file as stat(2) saw it: its modification time and size, what tells that it changed. A file
// that cannot be stat'ed is {0, -1}.
struct FileStamp {
  int64_t mtime_ns = 0;
  int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};
FileStamp StampOf(const std::string& path);

// A listener's certificate from its files, read again when they change: Refresh compares the
// files' modification times and sizes with those last read. A new connection takes the current
// context (Context); connections already open keep theirs. A certificate that does not load
// leaves the previous one in use.
//
// Thread-safety: every method may be called from any thread.
class TlsFiles {
 public:
  static absl::StatusOr<std::unique_ptr<TlsFiles>> Load(std::string cert_file,
                                                        std::string key_file);
  std::shared_ptr<boost::asio::ssl::context> Context() const;
  // True when the files changed (or `force`) and the new certificate is now in use; an error
  // when they changed but do not load (the old certificate stays).
  absl::StatusOr<bool> Refresh(bool force = false);

 private:
  TlsFiles(std::string cert_file, std::string key_file)
      : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {}
  std::pair<FileStamp, FileStamp> Stamps() const {
    return {StampOf(cert_file_), StampOf(key_file_)};
  }

  const std::string cert_file_;
  const std::string key_file_;
  std::mutex refresh_mu_;  // one Refresh at a time: a slower one never installs older files
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> context_;
  std::pair<FileStamp, FileStamp> stamps_;
};

}  // namespace debrief::ingress
