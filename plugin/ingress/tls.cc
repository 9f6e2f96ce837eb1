#include "ingress/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "absl/strings/str_cat.h"

namespace debrief::ingress {
namespace {

namespace ssl = boost::asio::ssl;

// OpenSSL's reasons for the last failure, oldest first, and the queue cleared.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown error" : out;
}

absl::StatusOr<std::shared_ptr<ssl::context>> MakeContext(const std::string& cert_file,
                                                          const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1)
    return absl::InternalError(absl::StrCat("TLS ciphers: ", OpenSslErrors()));
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the certificate ", cert_file, ": ", OpenSslErrors()));
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1)
    return absl::InvalidArgumentError(
        absl::StrCat("cannot use the private key ", key_file, ": ", OpenSslErrors()));
  if (SSL_CTX_check_private_key(native) != 1)
    return absl::InvalidArgumentError(absl::StrCat("the private key ", key_file,
                                                   " does not belong to the certificate ",
                                                   cert_file, ": ", OpenSslErrors()));
  return ctx;
}

}  // namespace

absl::Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file,
                           const std::string& ca_file) {
  auto ctx = MakeContext(cert_file, key_file);
  if (!ctx.ok()) return ctx.status();
  if (!ca_file.empty()) {
    ERR_clear_error();
    if (SSL_CTX_load_verify_locations(ctx->get()->native_handle(), ca_file.c_str(), nullptr) != 1)
      return absl::InvalidArgumentError(
          absl::StrCat("cannot use the CA certificates ", ca_file, ": ", OpenSslErrors()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TlsFiles>> TlsFiles::Load(std::string cert_file,
                                                         std::string key_file) {
  std::unique_ptr<TlsFiles> t(new TlsFiles(std::move(cert_file), std::move(key_file)));
  auto changed = t->Refresh(/*force=*/true);
  if (!changed.ok()) return changed.status();
  return t;
}

std::shared_ptr<ssl::context> TlsFiles::Context() const {
  std::lock_guard<std::mutex> l(mu_);
  return context_;
}

FileStamp StampOf(const std::string& path) {
  FileStamp s;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    s.size = st.st_size;
  }
  return s;
}

absl::StatusOr<bool> TlsFiles::Refresh(bool force) {
  std::lock_guard<std::mutex> refreshing(refresh_mu_);
  const std::pair<FileStamp, FileStamp> now = Stamps();
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!force && now == stamps_) return false;
  }
  auto ctx = MakeContext(cert_file_, key_file_);
  std::lock_guard<std::mutex> l(mu_);
  // Tried once per change: a half-written pair is tried again when its files change again.
  stamps_ = now;
  if (!ctx.ok()) return ctx.status();
  context_ = std::move(*ctx);
  return true;
}

}  // namespace debrief::ingress
