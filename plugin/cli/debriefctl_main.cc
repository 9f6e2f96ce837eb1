// debriefctl: the admin's and scripts' command line. Talks gRPC to debriefd; prints Protobuf
// JSON so scripts can read it. The commands live in ctl_*.cc, grouped by what they reach.
#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/ctl.h"

int main(int argc, char** argv) {
  CLI::App app{"debriefctl: talk to debriefd (gRPC); output is Protobuf JSON"};
  app.require_subcommand(1);
  debrief::cli::Ctl ctl;
  ctl.server = std::getenv("DEBRIEF_SERVER") ? std::getenv("DEBRIEF_SERVER") : "127.0.0.1:9090";
  app.add_option("--server", ctl.server, "debriefd gRPC address host:port (env DEBRIEF_SERVER)");
  debrief::cli::AddServiceCommands(app, ctl);
  debrief::cli::AddModelCommands(app, ctl);
  debrief::cli::AddFileCommands(app, ctl);
  CLI11_PARSE(app, argc, argv);
  return ctl.rc;
}
