#!/usr/bin/env python3
"""Checks the helpdesk apps in deploy/apps/ against what their vendors document, and that each
package.sh makes the zip an admin uploads. Run by check_apps.sh; standard library only.

The vendors' own validators need their accounts and the network (`zcli apps:validate`,
`fdk validate`), so these checks restate the rules offline:
  * Zendesk: the manifest checks of zendesk_apps_support (the library Zendesk validates uploads
    with: lib/zendesk_apps_support/validations/manifest.rb, translations.rb, manifest/parameter.rb,
    location.rb, app_version.rb) and the asset sizes of the Apps framework's "Styles and assets".
  * Freshdesk: Freshworks' platform 3.0 documentation of the app manifest, installation
    parameters (iparams.json) and request templates (requests.json: schema attributes, where
    iparams may be substituted, secure ones in headers only).
The Freshdesk package needs plugin/web's packages (npm ci); without them those tests are skipped
(DEBRIEF_APPS_REQUIRE_WEB=1 turns the skip into a failure).
"""

import ipaddress
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import zipfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ZENDESK = ROOT / "deploy" / "apps" / "zendesk"
FRESHDESK = ROOT / "deploy" / "apps" / "freshdesk"
WEB = ROOT / "plugin" / "web"


def load_json(path):
    """Parses a JSON file, refusing duplicate keys (both vendors reject them)."""

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"{path}: duplicate keys {dupes}")
        return dict(pairs)

    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"),
                      object_pairs_hook=no_duplicates)


def strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings_in(v)


def png_facts(data):
    """(width, height, colour type) of a PNG whose chunks' CRCs and image data check out."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise ValueError(f"bad CRC in {kind!r}")
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    if chunks[0] != b"IHDR" or chunks[-1] != b"IEND" or not idat:
        raise ValueError("chunks out of order")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    if len(zlib.decompress(idat)) != height * (1 + width * channels * depth // 8):
        raise ValueError("image data of the wrong size")
    return width, height, colour


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)


# --- Zendesk (Apps framework v2) -----------------------------------------------------------

# zendesk_apps_support: Manifest::RUBY_TO_JSON (the keys a manifest may have).
ZENDESK_KEYS = {
    "requirementsOnly", "marketingOnly", "version", "author", "name", "experiments",
    "frameworkVersion", "singleInstall", "signedUrls", "noTemplate", "defaultLocale",
    "location", "private", "oauth", "parameters", "domainWhitelist", "remoteInstallationURL",
    "termsConditionsURL", "gaID",
}
# Manifest::Parameter::TYPES (mtls only behind a flag), ATTRIBUTES.
ZENDESK_PARAMETER_TYPES = {"text", "checkbox", "url", "number", "multiline", "hidden", "oauth"}
ZENDESK_PARAMETER_KEYS = {"name", "type", "required", "secure", "default", "scopes",
                          "allowed_domain", "helpText"}
# Location: the Support product's locations.
ZENDESK_SUPPORT_LOCATIONS = {
    "top_bar", "nav_bar", "ticket_sidebar", "new_ticket_sidebar", "user_sidebar",
    "organization_sidebar", "background", "modal", "ticket_editor", "system_top_bar",
}
ZENDESK_PRODUCTS = {"support", "chat", "standalone_chat", "sell"}
ZENDESK_VALID_LOCALE = re.compile(r"^[a-z]{2,3}(-\w{2,3})?$")
# What debriefd's sign-in expects: POST /app/signin/{helpdesk}.
SIGNIN_URL = re.compile(
    r"^(\{\{setting\.debrief_url\}\}|https://[A-Za-z0-9.-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?)"
    r"/app/signin/\{\{setting\.helpdesk_id\}\}$")


def zendesk_problems(app_dir):
    """The rules an upload is held to, as a list of sentences (empty: fine)."""
    app_dir = pathlib.Path(app_dir)
    out = []
    m = load_json(app_dir / "manifest.json")
    for key in sorted(set(m) - ZENDESK_KEYS):
        out.append(f"unknown manifest key {key}")
    # Required: author, defaultLocale; frameworkVersion for apps with locations.
    author = m.get("author")
    if not isinstance(author, dict) or not isinstance(author.get("name"), str):
        out.append("author must be an object with a name")
    else:
        for field in ("name", "email", "url"):
            if not isinstance(author.get(field), str):
                out.append(f"author.{field} must be a string")
        if not re.match(r"^https?://[^/\s]+", author.get("url", "")):
            out.append("author.url must be an http(s) URL with a host")
    for key in ("name", "version", "defaultLocale", "frameworkVersion"):
        if not isinstance(m.get(key), str):
            out.append(f"{key} must be a string")
    if m.get("frameworkVersion") != "2.0":  # AppVersion::CURRENT, the only one served
        out.append("frameworkVersion must be 2.0")
    for key in ("private", "signedUrls", "singleInstall", "requirementsOnly", "marketingOnly"):
        if key in m and not isinstance(m[key], bool):
            out.append(f"{key} must be true or false")
    if m.get("private") is not True:
        out.append("the app must be private (an admin uploads it; it is not on the Marketplace)")
    if m.get("signedUrls") is not True:
        out.append("signedUrls must be true: debriefd signs agents in with Zendesk's token")
    locale = m.get("defaultLocale", "")
    if not ZENDESK_VALID_LOCALE.match(locale):
        out.append(f"defaultLocale {locale!r} is not a locale")
    elif not (app_dir / "translations" / f"{locale}.json").is_file():
        out.append(f"translations/{locale}.json is missing")

    params = m.get("parameters", [])
    if not isinstance(params, list):
        out.append("parameters must be an array")
        params = []
    names = [p.get("name") for p in params]
    by_name = {p.get("name"): p for p in params}
    if len(set(names)) != len(names):
        out.append("parameter names must be unique")
    for p in params:
        where = f"parameter {p.get('name')!r}"
        if not isinstance(p.get("name"), str) or not p.get("name"):
            out.append(f"{where}: a name is required")
        if p.get("name") == "name":
            out.append("a parameter may not be called name")
        for key in sorted(set(p) - ZENDESK_PARAMETER_KEYS):
            out.append(f"{where}: unknown key {key}")
        if p.get("type", "text") not in ZENDESK_PARAMETER_TYPES:
            out.append(f"{where}: type {p.get('type')!r} is not one of Zendesk's")
        for key in ("required", "secure"):
            if key in p and not isinstance(p[key], bool):
                out.append(f"{where}: {key} must be true or false")
        if p.get("type") == "hidden" and p.get("required"):
            out.append(f"{where}: a hidden parameter cannot be required")

    location = m.get("location")
    if not isinstance(location, dict) or not location:
        out.append("location must name the places the app shows")
        location = {}
    for product, places in location.items():
        if product not in ZENDESK_PRODUCTS:
            out.append(f"unknown product {product}")
            continue
        if product == "support":
            for name in sorted(set(places) - ZENDESK_SUPPORT_LOCATIONS):
                out.append(f"unknown Support location {name}")
        for name, options in places.items():
            if not isinstance(options, dict) or not isinstance(options.get("url"), str):
                out.append(f"{product}.{name}: url must be given")
                continue
            if "flexible" in options and not isinstance(options["flexible"], bool):
                out.append(f"{product}.{name}: flexible must be true or false")
            url = options["url"]
            for setting in re.findall(r"\{\{setting\.([^}]*)\}\}", url):
                if setting not in by_name:
                    out.append(f"{product}.{name}: the URL uses an undeclared setting {setting}")
                elif by_name[setting].get("secure"):
                    out.append(f"{product}.{name}: a secure setting may not go into a URL")
            if "{{setting." not in url and not (url.startswith("https://")
                                                or url.startswith("assets/")):
                out.append(f"{product}.{name}: the URL must be https:// or a file in assets/")
    sidebar = location.get("support", {}).get("ticket_sidebar")
    if not isinstance(sidebar, dict):
        out.append("support.ticket_sidebar is missing")
    elif not SIGNIN_URL.match(sidebar.get("url", "")):
        out.append("the ticket sidebar's URL must be <debrief>/app/signin/{{setting.helpdesk_id}}")

    for path in sorted((app_dir / "translations").glob("*")):
        if not ZENDESK_VALID_LOCALE.match(path.stem) or path.suffix != ".json":
            out.append(f"translations/{path.name}: not <locale>.json")
            continue
        t = load_json(path)
        app = t.get("app") if isinstance(t, dict) else None
        if not isinstance(app, dict):
            out.append(f"translations/{path.name}: no app object")
            continue
        tparams = app.get("parameters", {})
        for name, leaf in tparams.items():
            if not isinstance(leaf, dict) or "label" not in leaf:
                out.append(f"translations/{path.name}: parameters.{name} has no label")
        if path.stem == locale:
            if not isinstance(app.get("name"), str):
                out.append(f"translations/{path.name}: app.name is required")
            for name in names:
                if name not in tparams:
                    out.append(f"translations/{path.name}: no label for setting {name}")

    for logo, size in (("logo.png", 320), ("logo-small.png", 128)):
        path = app_dir / "assets" / logo
        try:
            w, h, colour = png_facts(path.read_bytes())
        except (OSError, ValueError, KeyError, zlib.error, struct.error) as e:
            out.append(f"assets/{logo}: {e}")
            continue
        if (w, h) != (size, size):
            out.append(f"assets/{logo} must be {size}x{size} pixels, not {w}x{h}")
        if colour != 6:
            out.append(f"assets/{logo} must be PNG-24 with transparency (RGBA)")

    texts = list(strings_in(m))
    for path in (app_dir / "translations").glob("*.json"):
        texts += list(strings_in(load_json(path)))
    for s in texts:
        if "http://" in s:
            out.append(f"an http:// URL: {s}")
    return out


class ZendeskApp(unittest.TestCase):
    def test_meets_zendesk_upload_rules(self):
        self.assertEqual(zendesk_problems(ZENDESK), [])

    def test_sidebar_is_debriefs_signed_signin_page(self):
        m = load_json(ZENDESK / "manifest.json")
        self.assertEqual(m["location"]["support"]["ticket_sidebar"]["url"],
                         "{{setting.debrief_url}}/app/signin/{{setting.helpdesk_id}}")
        self.assertIs(m["signedUrls"], True)
        self.assertEqual([p for p in m["parameters"] if p.get("secure")], [],
                         "nothing secret belongs in this app: Zendesk signs, debriefd verifies")

    def test_checks_catch_a_broken_manifest(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = pathlib.Path(tmp) / "app"
            shutil.copytree(ZENDESK, bad)
            m = load_json(bad / "manifest.json")
            m["signedUrls"] = False
            m["location"]["support"]["ticket_sidebar"]["url"] = "http://debrief.example.com/app/"
            (bad / "manifest.json").write_text(json.dumps(m))
            problems = "\n".join(zendesk_problems(bad))
            self.assertIn("signedUrls must be true", problems)
            self.assertIn("http:// URL", problems)
            self.assertIn("/app/signin/", problems)


# --- Freshdesk (Freshworks platform 3.0) ---------------------------------------------------

FRESHDESK_COMMON_LOCATIONS = {"full_page_app", "cti_global_sidebar"}
FRESHDESK_MODULE_LOCATIONS = {
    "support_ticket": {"ticket_sidebar", "ticket_requester_info", "ticket_top_navigation",
                       "ticket_background", "time_entry_background", "ticket_attachment",
                       "ticket_conversation_editor", "new_ticket_requester_info",
                       "new_ticket_background"},
    "support_email": {"new_email_requester_info", "new_email_background"},
    "support_contact": {"contact_sidebar", "contact_background", "contact_list_background"},
    "support_company": {"company_background", "company_list_background"},
    "support_agent": set(),
    "support_portal": set(),
}
FRESHDESK_IPARAM_TYPES = {"text", "paragraph", "dropdown", "email", "number", "phone_number",
                          "date", "url", "radio", "checkbox", "multiselect"}
FRESHDESK_IPARAM_KEYS = {"display_name", "description", "type", "required", "secure", "options",
                         "default_value", "visible", "regex", "modules", "events",
                         "type_attributes", "data-bind"}
FRESHDESK_SCHEMA_KEYS = {"protocol", "method", "host", "path", "headers", "query"}
FRESHDESK_METHODS = {"GET", "POST", "PUT", "DELETE", "PATCH"}
FRESHDESK_CONTENT_TYPES = {"application/json", "application/xml", "text/html", "text/xml",
                           "application/jsonp", "text/plain", "text/javascript",
                           "application/javascript", "application/vnd.api+json"}
SUBSTITUTION = re.compile(r"<%=\s*(.*?)\s*%>")


def substitutions(text):
    """The iparam and context names a template string uses."""
    found = []
    for expr in SUBSTITUTION.findall(text):
        found += re.findall(r"\b(iparam|context)\.([A-Za-z0-9_]+)", expr)
    return found


def freshdesk_problems(app_dir):
    app_dir = pathlib.Path(app_dir)
    out = []
    m = load_json(app_dir / "manifest.json")
    if m.get("platform-version") != "3.0":
        out.append("platform-version must be 3.0")
    for key in ("product", "whitelisted-domains"):
        if key in m:
            out.append(f"{key} is platform 2.x; 3.0 uses modules and request templates")
    engines = m.get("engines")
    if not (isinstance(engines, dict) and all(
            isinstance(engines.get(k), str) and re.fullmatch(r"\d+\.\d+\.\d+", engines[k])
            for k in ("node", "fdk"))):
        out.append("engines must give the node and fdk versions")
    modules = m.get("modules")
    if not isinstance(modules, dict):
        return out + ["modules is required"]
    if not set(modules) - {"common"}:
        out.append("at least one product module besides common is required")
    for name, module in modules.items():
        if name != "common" and name not in FRESHDESK_MODULE_LOCATIONS:
            out.append(f"module {name} is not a Freshdesk module")
            continue
        allowed = (FRESHDESK_COMMON_LOCATIONS if name == "common"
                   else FRESHDESK_MODULE_LOCATIONS[name])
        location = module.get("location")
        if location is None:
            continue
        if not isinstance(location, dict) or not location:
            out.append(f"modules.{name}.location must name at least one location")
            continue
        for place, options in location.items():
            if place not in allowed:
                out.append(f"location {place} does not belong in module {name}")
            url, icon = options.get("url"), options.get("icon")
            if not isinstance(url, str) or not (app_dir / "app" / url).is_file():
                out.append(f"{name}.{place}: url must be a file in app/")
            if not place.endswith("_background"):
                if not isinstance(icon, str) or not icon.endswith(".svg"):
                    out.append(f"{name}.{place}: icon must be an SVG")
                elif not (app_dir / "app" / icon).is_file():
                    out.append(f"{name}.{place}: app/{icon} is missing")
                else:
                    svg = (app_dir / "app" / icon).read_text(encoding="utf-8")
                    if not re.search(r'<svg[^>]*\bwidth="64(px)?"[^>]*\bheight="64(px)?"', svg):
                        out.append(f"app/{icon} must be 64x64")
    if "ticket_sidebar" not in (modules.get("support_ticket", {}).get("location") or {}):
        out.append("modules.support_ticket.location.ticket_sidebar is missing")

    iparams = load_json(app_dir / "config" / "iparams.json")
    for name, p in iparams.items():
        where = f"iparam {name}"
        if not isinstance(p, dict):
            out.append(f"{where} must be an object")
            continue
        for key in sorted(set(p) - FRESHDESK_IPARAM_KEYS):
            out.append(f"{where}: unknown attribute {key}")
        if not isinstance(p.get("display_name"), str):
            out.append(f"{where}: display_name is required")
        if p.get("type") not in FRESHDESK_IPARAM_TYPES:
            out.append(f"{where}: type {p.get('type')!r} is not a platform 3.0 type")
        for key in ("required", "secure"):
            if key in p and not isinstance(p[key], bool):
                out.append(f"{where}: {key} must be true or false")
    secure = {n for n, p in iparams.items() if isinstance(p, dict) and p.get("secure")}

    requests = load_json(app_dir / "config" / "requests.json")
    declared = set((modules.get("common") or {}).get("requests") or {})
    for name in sorted(declared - set(requests)):
        out.append(f"manifest declares request template {name}, requests.json lacks it")
    for name in sorted(set(requests) - declared):
        out.append(f"request template {name} is not declared in modules.common.requests")
    for name, t in requests.items():
        where = f"request template {name}"
        if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
            out.append(f"{where}: names are letters, digits, _ and -")
        for key in sorted(set(t) - {"schema", "options"}):
            out.append(f"{where}: unknown key {key}")
        s = t.get("schema", {})
        for key in sorted(set(s) - FRESHDESK_SCHEMA_KEYS):
            out.append(f"{where}: schema may not have {key}")
        if s.get("method") not in FRESHDESK_METHODS:
            out.append(f"{where}: method must be one of {sorted(FRESHDESK_METHODS)}")
        if s.get("protocol", "https") != "https":
            out.append(f"{where}: protocol must be https")
        host = s.get("host")
        if not isinstance(host, str) or not host:
            out.append(f"{where}: host is required")
        else:
            literal = SUBSTITUTION.sub("x", host)
            if "/" in literal or ":" in literal or not re.fullmatch(r"[A-Za-z0-9.-]+", literal):
                out.append(f"{where}: host is a domain name only, no scheme, port or path")
            try:
                ipaddress.ip_address(literal)
                out.append(f"{where}: host may not be an IP address")
            except ValueError:
                pass
        path = s.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/"):
            out.append(f"{where}: path must start with /")
        headers = s.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            out.append(f"{where}: headers must map names to strings")
            headers = {}
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        if ctype is not None and ctype not in FRESHDESK_CONTENT_TYPES:
            out.append(f"{where}: Content-Type {ctype} is not supported by the proxy")
        query = s.get("query", {})
        if not isinstance(query, dict):
            out.append(f"{where}: query must be an object")
            query = {}
        options = t.get("options", {})
        attempts = options.get("maxAttempts", 1)
        if not isinstance(attempts, int) or not 1 <= attempts <= 5:
            out.append(f"{where}: maxAttempts is 1 to 5")
        delay = options.get("retryDelay", 0)
        if not isinstance(delay, int) or delay % 100 or not 0 <= delay <= 1500:
            out.append(f"{where}: retryDelay is a multiple of 100 up to 1500")
        # Where values may be substituted: iparams (non-secure) in host, path and query;
        # secure iparams in headers only; context (from the page) not in the host.
        places = [("host", host or "")] + [("path", path)] + \
            [("headers", v) for v in headers.values()] + [("query", str(v)) for v in query.values()]
        for place, text in places:
            for kind, var in substitutions(text):
                if kind == "iparam" and var not in iparams:
                    out.append(f"{where}: {place} uses iparam.{var}, which iparams.json lacks")
                if kind == "iparam" and var in secure and place != "headers":
                    out.append(f"{where}: the secure iparam {var} may go only into headers")
                if kind == "context" and place == "host":
                    out.append(f"{where}: the page may not choose the host (context in host)")
    for name in sorted(secure):
        if not any(var == name for t in requests.values()
                   for v in (t.get("schema", {}).get("headers") or {}).values()
                   for _, var in substitutions(v)):
            out.append(f"secure iparam {name} is used in no request header")

    html = (app_dir / "app" / "index.html").read_text(encoding="utf-8")
    if not re.search(r'<script\s+src="\{\{\{appclient\}\}\}"', html):
        out.append("app/index.html must load Freshworks' SDK: <script src=\"{{{appclient}}}\">")
    for ref in re.findall(r'(?:src|href)="([^"]*)"', html):
        if ref in ("{{{appclient}}}", "data:,"):
            continue
        if re.match(r"^[a-z]+:|^//|^/", ref):
            out.append(f"app/index.html loads {ref}: the page loads only files of the app")
    texts = list(strings_in(m)) + list(strings_in(iparams)) + list(strings_in(requests)) + [html]
    for s in texts:
        if "http://" in s:
            out.append(f"an http:// URL: {s[:80]}")
    return out


class FreshdeskApp(unittest.TestCase):
    def test_meets_freshworks_platform_rules(self):
        self.assertEqual(freshdesk_problems(FRESHDESK), [])

    def test_api_template_carries_the_secure_token_to_debriefs_api(self):
        requests = load_json(FRESHDESK / "config" / "requests.json")
        iparams = load_json(FRESHDESK / "config" / "iparams.json")
        api = requests["debriefApi"]["schema"]
        self.assertEqual(api["method"], "POST")
        self.assertEqual(api["path"], "/api/v1/<%= context.service %>/<%= context.method %>")
        self.assertEqual(api["host"], "<%= iparam.debrief_host %>")
        self.assertEqual(api["headers"]["Authorization"], "Bearer <%= iparam.debrief_token %>")
        self.assertEqual(requests["debriefSession"]["schema"]["path"], "/api/v1/session")
        self.assertIs(iparams["debrief_token"]["secure"], True)
        self.assertFalse(iparams["debrief_host"].get("secure", False))

    def test_page_invokes_only_declared_templates(self):
        manifest = load_json(FRESHDESK / "manifest.json")
        declared = set(manifest["modules"]["common"]["requests"])
        source = (WEB / "src" / "transport_freshdesk.ts").read_text(encoding="utf-8")
        used = set(re.findall(r"export const k\w+Template = '([^']+)'", source))
        self.assertEqual(used, {"debriefApi", "debriefSession"})
        self.assertLessEqual(used, declared)

    def test_checks_catch_a_broken_app(self):
        with tempfile.TemporaryDirectory() as tmp:
            bad = pathlib.Path(tmp) / "app"
            shutil.copytree(FRESHDESK, bad)
            r = load_json(bad / "config" / "requests.json")
            r["debriefApi"]["schema"]["path"] = "/api/v1/<%= iparam.debrief_token %>"
            r["orphan"] = {"schema": {"method": "GET", "host": "<%= iparam.nope %>"}}
            (bad / "config" / "requests.json").write_text(json.dumps(r))
            m = load_json(bad / "manifest.json")
            m["platform-version"] = "2.3"
            m["modules"]["common"]["requests"]["missing"] = {}
            (bad / "manifest.json").write_text(json.dumps(m))
            problems = "\n".join(freshdesk_problems(bad))
            for expected in ("platform-version must be 3.0",
                             "secure iparam debrief_token may go only into headers",
                             "orphan is not declared",
                             "requests.json lacks it",
                             "iparam.nope"):
                self.assertIn(expected, problems)


# --- The packages ---------------------------------------------------------------------------

def web_ready():
    if (WEB / "node_modules" / "esbuild").is_dir() and shutil.which("node"):
        return True
    if os.environ.get("DEBRIEF_APPS_REQUIRE_WEB") == "1":
        raise AssertionError("plugin/web's packages are missing: cd plugin/web && npm ci")
    return False


class Packages(unittest.TestCase):
    def setUp(self):
        self.tmp = pathlib.Path(tempfile.mkdtemp(prefix="debrief-apps-"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def unzip(self, path):
        with zipfile.ZipFile(path) as z:
            self.assertIsNone(z.testzip())
            z.extractall(self.tmp / "x")
            return sorted(z.namelist())

    def test_zendesk_zip_has_the_app_at_its_root(self):
        out = self.tmp / "zendesk.zip"
        r = run([str(ZENDESK / "package.sh"), str(out)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.unzip(out), ["assets/logo-small.png", "assets/logo.png",
                                           "manifest.json", "translations/en.json"])
        self.assertEqual(zendesk_problems(self.tmp / "x"), [])
        again = self.tmp / "again.zip"
        run([str(ZENDESK / "package.sh"), str(again)]).check_returncode()
        self.assertEqual(out.read_bytes(), again.read_bytes(), "the zip is not reproducible")

    def test_zendesk_zip_with_a_fixed_debrief_url(self):
        out = self.tmp / "zendesk.zip"
        r = run([str(ZENDESK / "package.sh"), str(out), "https://debrief.example.com/"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.unzip(out)
        m = load_json(self.tmp / "x" / "manifest.json")
        self.assertEqual(m["location"]["support"]["ticket_sidebar"]["url"],
                         "https://debrief.example.com/app/signin/{{setting.helpdesk_id}}")
        self.assertEqual([p["name"] for p in m["parameters"]], ["helpdesk_id"])
        self.assertEqual(zendesk_problems(self.tmp / "x"), [])

    def test_zendesk_package_refuses_a_url_without_tls(self):
        for url in ("http://debrief.example.com", "debrief.example.com",
                    "https://debrief.example.com/?x=1"):
            r = run([str(ZENDESK / "package.sh"), str(self.tmp / "z.zip"), url])
            self.assertNotEqual(r.returncode, 0, url)
            self.assertFalse((self.tmp / "z.zip").exists())

    def test_freshdesk_zip_holds_the_app_and_the_panel(self):
        if not web_ready():
            self.skipTest("plugin/web's packages are not installed (npm ci)")
        out, kept = self.tmp / "freshdesk.zip", self.tmp / "kept"
        r = run([str(FRESHDESK / "package.sh"), str(out), str(kept)])
        self.assertEqual(r.returncode, 0, r.stderr)
        names = self.unzip(out)
        self.assertEqual(names, ["README.md", "app/index.html", "app/scripts/app.js",
                                 "app/styles/app.css", "app/styles/images/icon.svg",
                                 "config/iparams.json", "config/requests.json", "manifest.json"])
        self.assertEqual(freshdesk_problems(self.tmp / "x"), [])
        self.assertEqual(sorted(p.relative_to(kept).as_posix()
                                for p in kept.rglob("*") if p.is_file()), names)
        script = self.tmp / "x" / "app" / "scripts" / "app.js"
        check = run(["node", "--check", str(script)])
        self.assertEqual(check.returncode, 0, check.stderr)
        js = script.read_text(encoding="utf-8")
        self.assertIn("invokeTemplate", js)
        self.assertNotIn("dbt_", js, "no token in the page")
        self.assertGreater((self.tmp / "x" / "app" / "styles" / "app.css").stat().st_size, 1000)
        again = self.tmp / "again.zip"
        run([str(FRESHDESK / "package.sh"), str(again)]).check_returncode()
        self.assertEqual(out.read_bytes(), again.read_bytes(), "the zip is not reproducible")

    def test_freshdesk_package_will_not_fill_a_used_folder(self):
        if not web_ready():
            self.skipTest("plugin/web's packages are not installed (npm ci)")
        used = self.tmp / "used"
        used.mkdir()
        (used / "keep.txt").write_text("mine")
        r = run([str(FRESHDESK / "package.sh"), str(self.tmp / "f.zip"), str(used)])
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual((used / "keep.txt").read_text(), "mine")

    def test_debriefd_bundle_has_no_freshworks_transport(self):
        if not web_ready():
            self.skipTest("plugin/web's packages are not installed (npm ci)")
        out = self.tmp / "web"
        r = run(["node", str(WEB / "build.mjs"), str(out)])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(p.name for p in out.iterdir()),
                         ["app.css", "app.js", "console.css", "console.html", "console.js",
                          "index.html"])
        for script in ("app.js", "console.js"):
            check = run(["node", "--check", str(out / script)])
            self.assertEqual(check.returncode, 0, check.stderr)
            self.assertNotIn("invokeTemplate", (out / script).read_text(encoding="utf-8"))
        # The sidebar never carries the console's charting library.
        self.assertNotIn("chart.js", (out / "app.js").read_text(encoding="utf-8").lower())


def main():
    runner = unittest.TextTestRunner(verbosity=2, stream=sys.stdout)
    result = runner.run(unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__]))
    failed = len(result.failures) + len(result.errors)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    print(f"check_apps: {passed} passed, {failed} failed, {skipped} skipped")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
