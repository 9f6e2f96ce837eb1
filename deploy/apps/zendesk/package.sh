#!/usr/bin/env bash
# Packs Debrief's Zendesk app: the zip an admin uploads as a private app (Admin Center > Apps and
# integrations > Zendesk Support apps > Upload private app). No network, no zcli.
#
#   deploy/apps/zendesk/package.sh OUT.zip [DEBRIEF_URL]
#
# The app is server-side: its ticket sidebar is debriefd's page
# {{setting.debrief_url}}/app/signin/{{setting.helpdesk_id}}, which Zendesk fills from the
# installation's settings and opens with a POST of its signed token (signedUrls). With
# DEBRIEF_URL (https://host[:port][/prefix], as agents' browsers reach debriefd), that URL is
# written into the app instead and the "Debrief URL" setting goes away: whoever installs the app
# cannot point it, and the agents' signed tokens, anywhere else. The helpdesk id stays a setting.
#
# The zip holds manifest.json, translations/ and assets/ only, at its root, with fixed dates:
# the same sources give the same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ $# -lt 1 || $# -gt 2 || -z $1 ]]; then
  echo "usage: $0 OUT.zip [DEBRIEF_URL]" >&2
  exit 2
fi
exec python3 - "$here" "$1" "${2-}" <<'PY'
import json
import pathlib
import re
import sys
import zipfile

src, out, url = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
PLACEHOLDER = "{{setting.debrief_url}}"

manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
en = json.loads((src / "translations" / "en.json").read_text(encoding="utf-8"))
if url:
    url = url.rstrip("/")
    if not re.fullmatch(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?", url):
        sys.exit(f"package.sh: DEBRIEF_URL must be https://host[:port][/prefix], not {url!r}")
    sidebar = manifest["location"]["support"]["ticket_sidebar"]
    if not sidebar["url"].startswith(PLACEHOLDER):
        sys.exit("package.sh: manifest.json's sidebar URL does not start with " + PLACEHOLDER)
    sidebar["url"] = url + sidebar["url"][len(PLACEHOLDER):]
    manifest["parameters"] = [p for p in manifest["parameters"] if p["name"] != "debrief_url"]
    en["app"]["parameters"].pop("debrief_url", None)

files = {
    "manifest.json": (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode(),
    "translations/en.json": (json.dumps(en, indent=2, ensure_ascii=False) + "\n").encode(),
}
for path in sorted((src / "translations").glob("*.json")):
    files.setdefault(f"translations/{path.name}", path.read_bytes())
for path in sorted((src / "assets").iterdir()):
    if path.is_file():
        files[f"assets/{path.name}"] = path.read_bytes()

out.parent.mkdir(parents=True, exist_ok=True)
tmp = out.with_name(out.name + ".part")
with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in sorted(files):
        info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, files[name])
tmp.replace(out)
print(f"{out}: {len(files)} files; upload it as a private app in Zendesk Admin Center")
PY
