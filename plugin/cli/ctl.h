#pragma once

// debriefctl's pieces: the commands are grouped by what they reach (debriefd's services, model
// files, config and sample files), each group adding its subcommands to the app. An option's
// storage lives in a struct the group's callbacks share, so it outlives parsing.
#include <CLI/CLI.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"

namespace debrief::cli {

// What every command shares: where debriefd is, how to sign in, and the exit code the
// command leaves.
struct Ctl {
  std::string server;  // host:port of debriefd's gRPC listener
  // TLS: on with --tls, or when a CA or client certificate is given. `ca`: the CAs to trust
  // (default: the system's); `cert`/`key`: a client certificate (mutual TLS).
  bool tls = false;
  std::string ca, cert, key;
  // The bearer token: --token-file, DEBRIEF_TOKEN_FILE, DEBRIEF_TOKEN, or the local
  // administrator's token debriefd writes (LocalTokenFiles), read when the first call is made.
  std::string token_file;
  int rc = 0;
  // A channel whose calls carry the token and the user debriefctl runs as
  // ("debriefctl:<user>", which the audit log shows for the local administrator's token).
  std::shared_ptr<grpc::Channel> Channel() const;
  // The token to send; empty: none found (a client certificate may be enough).
  const std::string& Token() const;

 private:
  mutable std::optional<std::string> token_;
};

// Where debriefctl looks for debriefd's local administrator's token when told nothing: the
// package's state directory, then a source checkout's (var/, from its root).
std::vector<std::string> LocalTokenFiles();

// Prints an answer and returns 0: for a person (a terminal, or -o table) as a table or lines
// where debriefctl has a layout for it (cli/ctl_output.h), otherwise as Protobuf JSON (field
// names as in the .proto).
int Print(const google::protobuf::Message& m);
// Says what went wrong on standard error, in one line, and returns the exit code scripts tell
// apart: 3 not found, 4 debriefd could not be reached, 5 refused (permission), 1 anything else
// (2 is a command-line mistake, from the parser).
int Fail(const grpc::Status& s);
int Fail(const absl::Status& s);

// One unary call with a deadline (30 s unless told), for a command that reads the answer
// before printing it.
template <typename Stub, typename Req, typename Res>
grpc::Status Invoke(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Res*),
                    Stub& stub, const Req& req, Res* res,
                    std::chrono::seconds timeout = std::chrono::seconds(30)) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
  return (stub.*method)(&ctx, req, res);
}

// One unary call with a deadline (30 s unless told); prints the answer or fails.
template <typename Stub, typename Req, typename Res>
int Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Res*), Stub& stub,
         const Req& req, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  Res res;
  grpc::Status s = Invoke(method, stub, req, &res, timeout);
  if (!s.ok()) return Fail(s);
  return Print(res);
}

// tickets, tasks, tracker, classify, feedback, emerging, adapters, deliveries, backfill.
void AddServiceCommands(CLI::App& app, Ctl& ctl);
// adapters types|add|edit|remove|setup|wait, under the `adapters` command (cli/ctl_adapters.cc).
void AddAdapterCommands(CLI::App& adapters, Ctl& ctl);
// taxonomy diff|apply|history: taxonomy files against the running version, applied as a new
// version, and the versions so far (cli/ctl_taxonomy.cc).
void AddTaxonomyCommands(CLI::App& app, Ctl& ctl);
// train and eval: models from labelled CSV and a store's tagged tickets.
void AddModelCommands(CLI::App& app, Ctl& ctl);
// config check and replay: a config file, and sample deliveries signed as a helpdesk would.
void AddFileCommands(CLI::App& app, Ctl& ctl);
// migrate --from --to: a SQLite store copied into a PostgreSQL one, resumable, then verified
// (cli/ctl_migrate.cc).
void AddMigrateCommand(CLI::App& app, Ctl& ctl);
// completion bash|zsh|fish: the shell's completion script, from the command tree (add last).
void AddCompletionCommand(CLI::App& app, Ctl& ctl);

}  // namespace debrief::cli
