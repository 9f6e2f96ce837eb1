#!/usr/bin/env bash
# Packs Debrief's Freshdesk app (Freshworks platform 3.0): this folder with the panel's bundle
# built into app/scripts/app.js and app/styles/app.css, zipped for upload as a custom app.
#
#   deploy/apps/freshdesk/package.sh OUT.zip [APP_DIR]
#
# Needs node and plugin/web's packages (cd plugin/web && npm ci); no network. With APP_DIR (a new
# or empty folder) the unzipped app is left there too, for Freshworks' own tools
# (`fdk validate`, `fdk pack`). The zip holds manifest.json, README.md, config/ and app/ at its
# root, with fixed dates: the same sources give the same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
web=$(cd "$here/../../../plugin/web" && pwd)
if [[ $# -lt 1 || $# -gt 2 || -z $1 ]]; then
  echo "usage: $0 OUT.zip [APP_DIR]" >&2
  exit 2
fi
out=$1
if [[ ! -d $web/node_modules/esbuild ]]; then
  echo "$0: plugin/web's packages are missing: run (cd plugin/web && npm ci) first" >&2
  exit 1
fi

if [[ $# -eq 2 ]]; then
  dir=$2
  mkdir -p "$dir"
  if [[ -n $(ls -A "$dir") ]]; then
    echo "$0: $dir is not empty" >&2
    exit 1
  fi
else
  dir=$(mktemp -d)
  trap 'rm -rf "$dir"' EXIT
fi

cp "$here/manifest.json" "$here/README.md" "$dir/"
cp -R "$here/config" "$here/app" "$dir/"
node "$web/build.mjs" --freshdesk "$dir/app"

python3 - "$dir" "$out" <<'PY'
import pathlib
import sys
import zipfile

src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
names = sorted(p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file())
out.parent.mkdir(parents=True, exist_ok=True)
tmp = out.with_name(out.name + ".part")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in names:
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, (src / name).read_bytes())
tmp.replace(out)
print(f"{out}: {len(names)} files; upload it as a custom app in Freshdesk")
PY
