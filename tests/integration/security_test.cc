// debriefd's doors as a security review checks them: every gRPC call signs in and is held to
// the role table, RPC by RPC; both listeners speak TLS (1.2 and up) with a certificate renewed
// in place; client certificates sign callers in with the role the config gives them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "auth/auth.h"
#include "grpcpp/generic/generic_stub.h"
#include "integration/debriefd_process.h"

namespace debrief::testing {
namespace {

using ::testing::HasSubstr;

// Every RPC of services.proto, as "Service.Method".
std::vector<std::string> AllRpcs() {
  std::vector<std::string> out;
  const google::protobuf::FileDescriptor* file = v1::GetTicketRequest::descriptor()->file();
  for (int s = 0; s < file->service_count(); ++s)
    for (int m = 0; m < file->service(s)->method_count(); ++m)
      out.push_back(
          absl::StrCat(file->service(s)->name(), ".", file->service(s)->method(m)->name()));
  return out;
}

// Calls "Service.Method" with an empty request (a valid message of every type) and returns how
// the call ended.
grpc::Status CallRpc(const std::shared_ptr<grpc::Channel>& channel, const std::string& rpc) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer req(&empty, 1), res;
  std::promise<grpc::Status> done;
  const std::string path = absl::StrCat("/debrief.v1.", absl::StrReplaceAll(rpc, {{".", "/"}}));
  stub.UnaryCall(&ctx, path, grpc::StubOptions(), &req, &res,
                 [&done](grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

// A channel without TLS, whatever the listener speaks.
std::shared_ptr<grpc::Channel> Plain(const Debriefd& d, const std::string& token) {
  return cli::BearerChannel(d.grpc_address(), grpc::InsecureChannelCredentials(), token);
}

std::string CreateToken(Debriefd& d, const std::string& name, const std::string& role) {
  grpc::ClientContext ctx;
  v1::CreateApiTokenRequest req;
  req.set_name(name);
  req.set_role(role);
  v1::CreateApiTokenResponse res;
  grpc::Status s = d.admin()->CreateApiToken(&ctx, req, &res);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return res.secret();
}

// Every RPC refuses a caller who does not sign in, and each role gets exactly what the role
// table gives it: a new RPC without a rule, or a door that forgets to ask, fails here.
TEST(GrpcAuth, EveryRpcSignsInAndIsHeldToTheRoleTable) {
  TempDir dir;
  Debriefd d(dir.path());
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  ASSERT_FALSE(d.token().empty()) << "debriefd wrote no local token";
  EXPECT_EQ(std::filesystem::status(dir.file("debriefctl.token")).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  const std::string agent_token = CreateToken(d, "ann", "agent");
  const std::string lead_token = CreateToken(d, "lee", "lead");
  const std::string revoked_token = CreateToken(d, "gone", "admin");
  {
    grpc::ClientContext ctx;
    v1::ListApiTokensResponse list;
    ASSERT_TRUE(d.admin()->ListApiTokens(&ctx, v1::ListApiTokensRequest(), &list).ok());
    grpc::ClientContext rctx;
    v1::RevokeApiTokenRequest r;
    for (const auto& t : list.tokens())
      if (t.name() == "gone") r.set_id(t.id());
    v1::RevokeApiTokenResponse rr;
    ASSERT_TRUE(d.admin()->RevokeApiToken(&rctx, r, &rr).ok());
  }

  struct Who {
    const char* name;
    std::shared_ptr<grpc::Channel> channel;
    std::optional<auth::Role> role;  // none: must not get in
  };
  const std::vector<Who> callers = {
      {"nobody", d.Channel(""), std::nullopt},
      {"a made-up token", d.Channel("dbt_notatokenthisservereverissued"), std::nullopt},
      {"a session token with a forged signature", d.Channel("ds1.eyJuIjoibWUifQ.AAAA"),
       std::nullopt},
      {"a revoked admin token", d.Channel(revoked_token), std::nullopt},
      {"an agent", d.Channel(agent_token), auth::Role::kAgent},
      {"a lead", d.Channel(lead_token), auth::Role::kLead},
      {"the local admin token", d.Channel(d.token()), auth::Role::kAdmin},
  };
  const std::vector<std::string> rpcs = AllRpcs();
  ASSERT_GE(rpcs.size(), 39u);
  int checked = 0;
  for (const Who& who : callers) {
    for (const std::string& rpc : rpcs) {
      if (rpc == "Admin.Reload" || rpc == "Admin.Backfill") {
        // Allowed, they would act (read the file again, list a helpdesk): checked for refusals.
        if (who.role == auth::Role::kAdmin) continue;
      }
      const grpc::Status s = CallRpc(who.channel, rpc);
      ++checked;
      if (!who.role) {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
            << who.name << " calling " << rpc << ": " << s.error_message();
        continue;
      }
      auth::Caller caller;
      caller.name = who.name;
      caller.role = *who.role;
      if (auth::Allowed(rpc, caller)) {
        EXPECT_NE(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << who.name << " " << rpc;
        EXPECT_NE(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << who.name << " calling " << rpc << ": " << s.error_message();
      } else {
        EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << who.name << " calling " << rpc << ": " << s.error_message();
        EXPECT_THAT(s.error_message(), HasSubstr("may not call " + rpc));
      }
    }
  }
  EXPECT_GT(checked, 250);

  // The health check needs no sign-in (load balancers and systemd probes have none).
  {
    grpc::GenericStub stub(d.Channel(""));
    grpc::ClientContext ctx;
    grpc::Slice empty("", 0);
    grpc::ByteBuffer req(&empty, 1), res;  // an empty HealthCheckRequest: the whole server
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &res,
                   [&done](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status s = done.get_future().get();
    EXPECT_TRUE(s.ok()) << s.error_message();
  }

  // debriefctl without a token is told what to do; with the local token it gets in, and the
  // audit names the user it runs as.
  EXPECT_EQ(
      RunCommand(absl::StrCat("cd ", dir.path(),
                              " && env -u DEBRIEF_TOKEN DEBRIEF_TOKEN_FILE= ", DEBRIEFCTL_PATH,
                              " --server ", d.grpc_address(), CtlTlsFlags(), " tokens list 2>&1"),
                 &out) >>
          8,
      5)
      << out;
  // (A package installed on this machine leaves its own token where debriefctl looks.)
  EXPECT_THAT(out, ::testing::AnyOf(HasSubstr("sign in"), HasSubstr("not known here")));
  // The local token is for gRPC on this host: the JSON API, which faces the network, refuses it.
  spi::HttpRequest api;
  api.method = "POST";
  api.url = d.base_url() + "/api/v1/Admin/ListApiTokens";
  api.headers = {{"Authorization", "Bearer " + d.token()}, {"Content-Type", "application/json"}};
  api.body = "{}";
  auto refused = NewTestHttpClient()->Send(api);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401) << refused->body;
  EXPECT_THAT(refused->body, HasSubstr("gRPC on this host only"));
  EXPECT_EQ(RunCommand(absl::StrCat(d.ctl(), " -o json tokens create robot --role agent"), &out), 0)
      << out;
  grpc::ClientContext ctx;
  v1::ListAuditRequest areq;
  v1::ListAuditResponse audit;
  ASSERT_TRUE(d.admin()->ListAudit(&ctx, areq, &audit).ok());
  ASSERT_FALSE(audit.entries().empty());
  EXPECT_THAT(audit.entries(0).actor(), ::testing::StartsWith("local:debriefctl:"));
  EXPECT_EQ(audit.entries(0).action(), "Admin.CreateApiToken");
  // A refused change is audited under the caller who tried it.
  bool refused_seen = false;
  for (const auto& e : audit.entries())
    if (absl::StartsWith(e.actor(), "ann (gRPC") && e.outcome() == "PERMISSION_DENIED")
      refused_seen = true;
  EXPECT_TRUE(refused_seen) << "an agent's refused admin call is not in the audit log";
  EXPECT_EQ(d.Terminate(), 0);
}

// The serial of the certificate a TLS listener presents now ("serial=03E9"), or the error.
std::string SerialAt(const TempDir& dir, int port, bool h2) {
  std::string out;
  RunCommand(absl::StrCat("cd ", dir.path(), " && openssl s_client -connect 127.0.0.1:", port,
                          h2 ? " -alpn h2" : "",
                          " -servername localhost </dev/null 2>/dev/null | openssl x509 -noout "
                          "-serial 2>&1"),
             &out);
  return std::string(absl::StripAsciiWhitespace(out));
}

std::shared_ptr<grpc::Channel> TlsChannel(const TempDir& dir, const Debriefd& d,
                                          const std::string& token,
                                          const std::string& client = "") {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = Slurp(dir.file("ca.pem"));
  if (!client.empty()) {
    o.pem_cert_chain = Slurp(dir.file(client + ".pem"));
    o.pem_private_key = Slurp(dir.file(client + ".key"));
  }
  return cli::BearerChannel(d.grpc_address(), grpc::SslCredentials(o), token);
}

grpc::Status ListAdapters(const std::shared_ptr<grpc::Channel>& ch) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ListAdaptersResponse res;
  return v1::Admin::NewStub(ch)->ListAdapters(&ctx, v1::ListAdaptersRequest(), &res);
}

TEST(Tls, BothListenersSpeakTlsAndTakeARenewedCertificateWithoutARestart) {
  if (TlsOn())
    GTEST_SKIP() << "sets up TLS of its own (its CA, client certificates, renewals) on a plain "
                    "configuration, and checks plaintext is refused: the plain run covers it";
  TempDir dir;
  MakeCa(dir);
  MakeServerCert(dir, 1001);
  MakeClientCert(dir, "ops-robot");
  MakeClientCert(dir, "stranger");
  std::string yaml = IntegrationConfig(dir.path());
  const std::string plain_http = R"(http: {listen: "127.0.0.1:0", threads: 2})";
  const std::string plain_grpc = R"(grpc: {listen: "127.0.0.1:0"})";
  ASSERT_TRUE(absl::StrContains(yaml, plain_http) && absl::StrContains(yaml, plain_grpc));
  absl::StrReplaceAll({{plain_http, R"(http: {listen: "127.0.0.1:0", threads: 2,
  tls: {cert_file: server.pem, key_file: server.key}})"},
                       {plain_grpc, R"(grpc:
  listen: "127.0.0.1:0"
  tls: {cert_file: server.pem, key_file: server.key, client_ca_file: ca.pem,
        client_roles: {ops-robot: admin}})"}},
                      &yaml);
  Debriefd d(dir.path(), RawConfig{yaml});
  std::string out;
  ASSERT_TRUE(d.Start(&out)) << out;
  EXPECT_THAT(out, HasSubstr("health:   https://127.0.0.1:"));
  const int port = d.http_port();
  ASSERT_GT(port, 0);

  // HTTPS: the readiness probe, and a signed webhook acknowledged over it.
  const std::string curl =
      absl::StrCat("curl -sS --cacert ", dir.file("ca.pem"), " -o /dev/null -w '%{http_code}' ");
  ASSERT_EQ(RunCommand(absl::StrCat(curl, "https://127.0.0.1:", port, "/readyz"), &out), 0) << out;
  EXPECT_EQ(out, "200");
  const std::string body = TicketJson("T1", "Refund", "I was charged twice", "c1");
  const std::string ts = std::to_string(absl::ToUnixSeconds(absl::Now()));
  const std::string sig = adapters::HexEncode(
      adapters::Hmac(adapters::Digest::kSha256, kWebhookSecret, ts + "." + body));
  std::ofstream(dir.file("body.json")) << body;
  ASSERT_EQ(RunCommand(absl::StrCat(
                           curl, "-X POST -H 'Content-Type: application/json' ",
                           "-H 'X-Debrief-Timestamp: ", ts, "' -H 'X-Debrief-Signature: ", sig,
                           "' -H 'X-Debrief-Delivery: tls-1' --data-binary @",
                           dir.file("body.json"), " https://127.0.0.1:", port, "/webhooks/support"),
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "202");
  // Plain HTTP to the TLS port gets no answer and is counted; so is TLS 1.1.
  EXPECT_NE(
      RunCommand(absl::StrCat("curl -sS -m 5 -o /dev/null http://127.0.0.1:", port, "/readyz 2>&1"),
                 &out),
      0);
  EXPECT_NE(RunCommand(absl::StrCat("openssl s_client -connect 127.0.0.1:", port,
                                    " -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null 2>&1"),
                       &out),
            0)
      << "TLS 1.1 was accepted:\n"
      << out;
  ASSERT_EQ(RunCommand(absl::StrCat("curl -sS --cacert ", dir.file("ca.pem"),
                                    " https://127.0.0.1:", port, "/metrics"),
                       &out),
            0);
  EXPECT_THAT(out, ::testing::ContainsRegex(
                       "debrief_http_refused_total\\{reason=\"tls_handshake\"\\} [2-9]"));

  // gRPC over TLS: a client certificate named in client_roles signs in by itself; another
  // one needs a token; no certificate, or no TLS, does not get a connection.
  EXPECT_TRUE(ListAdapters(TlsChannel(dir, d, "", "ops-robot")).ok());
  grpc::Status s = ListAdapters(TlsChannel(dir, d, "", "stranger"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_TRUE(ListAdapters(TlsChannel(dir, d, d.token(), "stranger")).ok());
  EXPECT_EQ(ListAdapters(TlsChannel(dir, d, d.token())).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ListAdapters(Plain(d, d.token())).error_code(), grpc::StatusCode::UNAVAILABLE);
  // debriefctl with --ca/--cert/--key.
  EXPECT_EQ(
      RunCommand(absl::StrCat("cd / && ", DEBRIEFCTL_PATH, " --server ", d.grpc_address(), " --ca ",
                              dir.file("ca.pem"), " --cert ", dir.file("ops-robot.pem"), " --key ",
                              dir.file("ops-robot.key"), " -o json adapters list 2>&1"),
                 &out),
      0)
      << out;
  EXPECT_THAT(out, HasSubstr("\"support\""));

  // Renewal: new files in place. HTTPS takes them at SIGHUP, gRPC within its 10 s watch; the
  // connections already open go on.
  EXPECT_EQ(SerialAt(dir, port, false), "serial=03E9");
  EXPECT_EQ(SerialAt(dir, std::stoi(d.grpc_address().substr(10)), true), "serial=03E9");
  auto kept = TlsChannel(dir, d, "", "ops-robot");
  ASSERT_TRUE(ListAdapters(kept).ok());
  MakeServerCert(dir, 1002);
  d.Signal(SIGHUP);
  std::string http_serial, grpc_serial;
  for (int i = 0; i < 150; ++i) {
    http_serial = SerialAt(dir, port, false);
    grpc_serial = SerialAt(dir, std::stoi(d.grpc_address().substr(10)), true);
    if (http_serial == "serial=03EA" && grpc_serial == "serial=03EA") break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_EQ(http_serial, "serial=03EA");
  EXPECT_EQ(grpc_serial, "serial=03EA");
  EXPECT_TRUE(ListAdapters(kept).ok());
  ASSERT_EQ(RunCommand(absl::StrCat(curl, "https://127.0.0.1:", port, "/readyz"), &out), 0);
  EXPECT_EQ(out, "200");

  // A broken renewal (a key that is not the certificate's) keeps the previous certificate.
  Sh(dir,
     "openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out other.key "
     "&& mv other.key server.key");
  d.Signal(SIGHUP);
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(SerialAt(dir, port, false), "serial=03EA");
  // gRPC's watcher looks every 10 s: past that, it still serves the last pair that matched.
  absl::SleepFor(absl::Seconds(11));
  EXPECT_EQ(SerialAt(dir, std::stoi(d.grpc_address().substr(10)), true), "serial=03EA");
  EXPECT_TRUE(ListAdapters(TlsChannel(dir, d, "", "ops-robot")).ok());
  EXPECT_EQ(d.Terminate(), 0);
  EXPECT_THAT(Slurp(dir.file("debriefd.log")),
              HasSubstr("the new certificate is not used; the previous one stays"));
}

}  // namespace
}  // namespace debrief::testing
