// debriefctl: the admin's and scripts' command line. Talks gRPC to debriefd; prints tables for
// a person at a terminal and Protobuf JSON for scripts (a pipe, or -o json). The commands live
// in ctl_*.cc, grouped by what they reach.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/ctl.h"
#include "cli/ctl_output.h"

int main(int argc, char** argv) {
  CLI::App app{
      "debriefctl: talk to debriefd (gRPC); tables on a terminal, Protobuf JSON otherwise (-o)"};
  app.require_subcommand(1);
  app.fallthrough();  // --server and -o after the command too, as in kubectl and gh
  debrief::cli::Ctl ctl;
  ctl.server = std::getenv("DEBRIEF_SERVER") ? std::getenv("DEBRIEF_SERVER") : "127.0.0.1:9090";
  app.add_option("--server", ctl.server, "debriefd gRPC address host:port (env DEBRIEF_SERVER)");
  app.add_option("--token-file", ctl.token_file,
                 "a file holding the API token to sign in with (env DEBRIEF_TOKEN_FILE, or the "
                 "token itself in DEBRIEF_TOKEN); default: the local administrator's token "
                 "debriefd writes, /var/lib/debrief/debriefctl.token or var/debriefctl.token");
  app.add_flag("--tls", ctl.tls, "connect with TLS (implied by --ca and --cert)");
  app.add_option("--ca", ctl.ca, "PEM file of the CAs to trust (default: the system's)");
  app.add_option("--cert", ctl.cert, "PEM client certificate, for mutual TLS");
  app.add_option("--key", ctl.key, "PEM key of the client certificate");
  std::string output = "auto";
  app.add_option("-o,--output", output,
                 "table (for people), wide (a table with more columns and exact times), json "
                 "(for scripts, stable), yaml (the same as YAML), or auto: a table on a "
                 "terminal, JSON through a pipe")
      ->check(CLI::IsMember({"auto", "table", "wide", "json", "yaml"}));
  app.parse_complete_callback([&output] {
    using debrief::cli::Output;
    debrief::cli::SetOutput(output == "table"  ? Output::kTable
                            : output == "wide" ? Output::kWide
                            : output == "json" ? Output::kJson
                            : output == "yaml" ? Output::kYaml
                                               : Output::kAuto);
  });
  debrief::cli::AddServiceCommands(app, ctl);
  debrief::cli::AddModelCommands(app, ctl);
  debrief::cli::AddFileCommands(app, ctl);
  debrief::cli::AddTaxonomyCommands(app, ctl);
  debrief::cli::AddMigrateCommand(app, ctl);
  debrief::cli::AddCompletionCommand(app, ctl);
  app.set_version_flag("--version", "debriefctl " DEBRIEF_VERSION);
  CLI11_PARSE(app, argc, argv);
  return ctl.rc;
}
