#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/ctl.h"

namespace debrief::cli {
namespace {

// Every command path ("", "tasks", "tasks list") with the words that may follow it: its
// subcommands and its options, long and short.
std::map<std::string, std::vector<std::string>> CommandTree(const CLI::App& root) {
  std::map<std::string, std::vector<std::string>> tree;
  std::function<void(const CLI::App&, const std::string&)> walk = [&](const CLI::App& app,
                                                                      const std::string& path) {
    std::vector<std::string>& words = tree[path];
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      words.push_back(sub->get_name());
      walk(*sub, path.empty() ? sub->get_name() : absl::StrCat(path, " ", sub->get_name()));
    }
    for (const CLI::Option* o : app.get_options()) {
      for (const std::string& l : o->get_lnames()) words.push_back("--" + l);
      for (const std::string& s : o->get_snames()) words.push_back("-" + s);
    }
  };
  walk(root, "");
  return tree;
}

std::string Bash(const CLI::App& root) {
  const auto tree = CommandTree(root);
  std::string out =
      "# debriefctl completion for bash: source it, or install it as\n"
      "# /usr/share/bash-completion/completions/debriefctl (debriefctl completion bash)\n"
      "_debriefctl() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} path= w i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    w=${COMP_WORDS[i]}\n"
      "    [[ $w == -* ]] && continue\n"
      "    case \"${path:+$path }$w\" in\n";
  for (const auto& [path, words] : tree) {
    if (path.empty()) continue;
    absl::StrAppend(&out, "      \"", path, "\") path=\"", path, "\" ;;\n");
  }
  absl::StrAppend(&out,
                  "    esac\n"
                  "  done\n"
                  "  local words\n"
                  "  case \"$path\" in\n");
  for (const auto& [path, words] : tree)
    absl::StrAppend(&out, "    \"", path, "\") words=\"", absl::StrJoin(words, " "), "\" ;;\n");
  absl::StrAppend(&out,
                  "  esac\n"
                  "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
                  "}\n"
                  "complete -o default -F _debriefctl debriefctl\n");
  return out;
}

std::string Zsh(const CLI::App& root) {
  return absl::StrCat(
      "#compdef debriefctl\n"
      "# debriefctl completion for zsh (through bash's completion, which zsh runs)\n"
      "autoload -U +X bashcompinit && bashcompinit\n",
      Bash(root));
}

std::string Fish(const CLI::App& root) {
  const auto tree = CommandTree(root);
  std::string out = "# debriefctl completion for fish (debriefctl completion fish)\n";
  std::set<std::string> top;
  for (const auto& [path, words] : tree) {
    if (path.find(' ') == std::string::npos && !path.empty()) top.insert(path);
  }
  absl::StrAppend(&out, "complete -c debriefctl -f -n '__fish_use_subcommand' -a '",
                  absl::StrJoin(top, " "), "'\n");
  for (const auto& [path, words] : tree) {
    if (path.empty() || path.find(' ') != std::string::npos) continue;
    std::vector<std::string> subs;
    for (const std::string& w : words)
      if (w[0] != '-') subs.push_back(w);
    if (!subs.empty())
      absl::StrAppend(&out, "complete -c debriefctl -f -n '__fish_seen_subcommand_from ", path,
                      "' -a '", absl::StrJoin(subs, " "), "'\n");
  }
  return out;
}

}  // namespace

void AddCompletionCommand(CLI::App& app, Ctl& ctl) {
  auto shell = std::make_shared<std::string>();
  auto* c = app.add_subcommand("completion",
                               "print the shell completion script for bash, zsh "
                               "or fish (e.g. source <(debriefctl completion bash))");
  c->add_option("shell", *shell, "bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  c->callback([shell, &app, &ctl] {
    std::cout << (*shell == "bash" ? Bash(app) : *shell == "zsh" ? Zsh(app) : Fish(app));
    ctl.rc = 0;
  });
}

}  // namespace debrief::cli
