#!/usr/bin/env bash
# debriefctl's shell completion and manual pages, as a person at a shell meets them:
# the bash script loads, completes commands and subcommands from debriefctl's own command tree,
# and the manual pages render.   Usage: tests/cli/completion_test.sh DEBRIEFCTL DEBRIEFD MAN_DIR
set -euo pipefail
ctl=$1
debriefd=$2
man_dir=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "completion test: $*" >&2; exit 1; }

"$ctl" completion bash >"$work/debriefctl.bash"
bash -n "$work/debriefctl.bash" || fail "the bash script does not parse"
# What bash offers after these words (the last one is being typed).
complete_words() {
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _debriefctl; echo "${COMPREPLY[*]}"' \
    _ "$work/debriefctl.bash" "$@"
}
got=$(complete_words debriefctl ta)
[[ " $got " == *" tasks "* ]] || fail "debriefctl ta<TAB> offers \"$got\", not tasks"
got=$(complete_words debriefctl tasks l)
[[ " $got " == *" list "* && " $got " == *" link "* ]] || fail "tasks l<TAB> offers \"$got\""
got=$(complete_words debriefctl --server 127.0.0.1:9090 people "")
[[ " $got " == *" merge "* && " $got " == *" split "* ]] || fail "people <TAB> offers \"$got\""
got=$(complete_words debriefctl tokens create --r)
[[ " $got " == *" --role "* ]] || fail "tokens create --r<TAB> offers \"$got\""

# (Into files first: grep -q stops reading early, and pipefail would count the writer's SIGPIPE.)
"$ctl" completion zsh >"$work/zsh"
grep -q '^#compdef debriefctl' "$work/zsh" || fail "no zsh script"
"$ctl" completion fish >"$work/fish"
grep -q "__fish_seen_subcommand_from tasks' -a '.*list" "$work/fish" ||
  fail "no fish completion of tasks' subcommands"
if "$ctl" completion powershell >/dev/null 2>&1; then fail "an unknown shell was accepted"; fi

[[ $("$ctl" --version) =~ ^debriefctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "debriefctl --version"
[[ $("$debriefd" --version) =~ ^debriefd\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "debriefd --version"
[[ $("$debriefd" --help) == *"--config FILE"* ]] || fail "debriefd --help"

if [ -n "$man_dir" ]; then
  for page in debriefctl.1.gz debriefd.8.gz; do
    [ -s "$man_dir/$page" ] || fail "no $page"
  done
  zcat "$man_dir/debriefctl.1.gz" >"$work/ctl.1"
  grep -q '^\.TH DEBRIEFCTL "1"' "$work/ctl.1" || fail "debriefctl.1 is not a section 1 page"
  grep -q "tasks" "$work/ctl.1" && grep -q 'output' "$work/ctl.1" ||
    fail "debriefctl(1) does not show its commands and options"
  [[ $(zcat "$man_dir/debriefd.8.gz") == *config* ]] || fail "debriefd(8) does not show --config"
  [ -s "$man_dir/debriefctl.bash" ] || fail "no installed bash completion"
fi
echo "completion test: ok"
