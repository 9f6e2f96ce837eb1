#!/usr/bin/env bash
# Every C++ file in the repository is clang-formatted (.clang-format: Google base, 100 columns).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.cc' '*.h' 2>/dev/null || find plugin adapters tests -name '*.cc' -o -name '*.h')
bad=()
for f in $files; do
  [ -f "$f" ] || continue
  clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not clang-formatted (run clang-format -i):\n' >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: $(echo "$files" | wc -w) files clang-formatted"
