// debriefctl taxonomy diff|apply|history: the taxonomy changed as a whole, one version at a
// time, through debriefd (Admin.DiffTaxonomy, ApplyTaxonomy, TaxonomyHistory), so that renamed,
// merged and split categories carry their tickets, tasks and trends along.
#include <chrono>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/ctl.h"
#include "cli/ctl_output.h"
#include "debrief/v1/services.grpc.pb.h"
#include "settings/settings.h"

namespace debrief::cli {
namespace {

struct TaxonomyArgs {
  std::string file;
  int limit = 50;
};

// A taxonomy file's text; `-` reads standard input.
absl::StatusOr<std::string> ReadTaxonomy(const std::string& file) {
  if (file != "-") return settings::ReadFile(file);
  std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
  if (std::cin.bad()) return absl::DataLossError("cannot read standard input");
  return text;
}

}  // namespace

void AddTaxonomyCommands(CLI::App& app, Ctl& ctl) {
  auto a = std::make_shared<TaxonomyArgs>();
  auto* taxonomy =
      app.add_subcommand("taxonomy",
                         "the categories as versions: what a taxonomy file would change, "
                         "applying it, the versions so far")
          ->require_subcommand(1);

  auto* diff = taxonomy->add_subcommand(
      "diff", "what a taxonomy file would change against the running version (nothing written)");
  diff->add_option("file", a->file, "a taxonomy file (categories:), - for standard input")
      ->required();
  diff->callback([a, &ctl] {
    auto yaml = ReadTaxonomy(a->file);
    if (!yaml.ok()) {
      ctl.rc = Fail(yaml.status());
      return;
    }
    v1::DiffTaxonomyRequest r;
    r.set_yaml(*std::move(yaml));
    v1::DiffTaxonomyResponse res;
    grpc::Status s = Invoke(&v1::Admin::Stub::DiffTaxonomy, *v1::Admin::NewStub(ctl.Channel()), r,
                            &res, std::chrono::seconds(60));
    if (!s.ok()) {
      ctl.rc = Fail(s);
      return;
    }
    if (ForPeople() && res.changes().empty()) {
      // The layout's "the file", named.
      std::cout << "No change: " << (a->file == "-" ? "standard input" : a->file)
                << " is the running taxonomy (version " << res.current_version() << ").\n";
      ctl.rc = 0;
      return;
    }
    ctl.rc = Print(res);
  });

  auto* apply = taxonomy->add_subcommand(
      "apply",
      "make a taxonomy file the running version: written into conf_dir, applied at once, its "
      "changes carried out on tickets and tasks");
  apply->add_option("file", a->file, "a taxonomy file (categories:), - for standard input")
      ->required();
  apply->callback([a, &ctl] {
    auto yaml = ReadTaxonomy(a->file);
    if (!yaml.ok()) {
      ctl.rc = Fail(yaml.status());
      return;
    }
    v1::ApplyTaxonomyRequest r;
    r.set_yaml(*std::move(yaml));  // who applies it is debriefd's to say: the caller
    // A reload, and tickets moved or classified again: as long as `reload` may take.
    ctl.rc = Call(&v1::Admin::Stub::ApplyTaxonomy, *v1::Admin::NewStub(ctl.Channel()), r,
                  std::chrono::seconds(120));
  });

  auto* history =
      taxonomy->add_subcommand("history", "the taxonomy versions applied so far, newest first");
  history->add_option("--limit", a->limit, "at most this many (default 50)");
  history->callback([a, &ctl] {
    v1::TaxonomyHistoryRequest r;
    r.set_limit(a->limit);
    ctl.rc = Call(&v1::Admin::Stub::TaxonomyHistory, *v1::Admin::NewStub(ctl.Channel()), r);
  });
}

}  // namespace debrief::cli
