#!/usr/bin/env python3
"""Checks the relative links in Debrief's documentation.

Every markdown link ([text](path), ![alt](path), [text](path#anchor), [text](#anchor) and
reference definitions [name]: path) in README.md, CONTRIBUTING.md, SECURITY.md, docs/**/*.md
and adapters/**/README.md must name a file or folder that exists, and an #anchor into a
markdown file must name one of its headings (GitHub's slugs: lower case, punctuation dropped,
spaces to hyphens, -1, -2 ... for repeats) or an explicit <a name="..."> / id="...". Links
with a scheme (https:, mailto:) are not fetched. Links inside code blocks and code spans are
not links.

    python3 docs/tools/check_links.py      exit 1 and list the broken links, if any

Standard library only.
"""

import glob
import os
import re
import sys
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATTERNS = ["README.md", "CONTRIBUTING.md", "SECURITY.md", "docs/**/*.md", "adapters/**/README.md"]

INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$")
EXPLICIT_ANCHOR = re.compile(r"<a\s+[^>]*?(?:name|id)\s*=\s*\"([^\"]+)\"", re.I)


def doc_files():
    seen = set()
    out = []
    for pat in PATTERNS:
        for path in sorted(glob.glob(os.path.join(ROOT, pat), recursive=True)):
            if "node_modules" in path.split(os.sep) or not os.path.isfile(path):
                continue
            if path not in seen:
                seen.add(path)
                out.append(path)
    return out


def strip_code(lines):
    """Lines with fenced code blanked (kept as empty lines so numbers stay true)."""
    out = []
    fence = None
    for line in lines:
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            out.append("")
            continue
        if fence is not None:
            if line.strip().startswith(fence) and set(line.strip()) <= {fence[0]}:
                fence = None
            out.append("")
            continue
        out.append(line)
    return out


def without_code_spans(line):
    return re.sub(r"(`+)(.+?)\1", lambda m: " " * len(m.group(0)), line)


def heading_text(raw):
    text = re.sub(r"\s+#+\s*$", "", raw.strip())
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # links to their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.replace("`", "").replace("*", "")
    return text.strip()


def slug(text):
    """GitHub's heading anchor (github-slugger): lower case, keep letters, digits, marks,
    '_', '-' and spaces, then each space becomes '-'."""
    out = []
    for ch in text.lower():
        cat = unicodedata.category(ch)
        if ch in " -_" or cat[0] in "LNM":
            out.append(ch)
    return "".join(out).replace(" ", "-")


_anchor_cache = {}


def anchors(path):
    if path in _anchor_cache:
        return _anchor_cache[path]
    with open(path, encoding="utf-8") as f:
        raw_lines = f.read().split("\n")
    lines = strip_code(raw_lines)
    found = set()
    counts = {}

    def add(text):
        base = slug(heading_text(text))
        n = counts.get(base, 0)
        counts[base] = n + 1
        found.add(base if n == 0 else "%s-%d" % (base, n))

    for i, line in enumerate(lines):
        for m in EXPLICIT_ANCHOR.finditer(line):
            found.add(m.group(1))
        m = ATX.match(line)
        if m:
            add(m.group(2) or "")
            continue
        # Setext: a text line underlined with === or ---.
        if i + 1 < len(lines) and line.strip() and not line.startswith(("    ", "\t")):
            under = lines[i + 1].strip()
            if under and (set(under) == {"="} or (set(under) == {"-"} and len(under) >= 2)):
                prev_blank = i == 0 or not lines[i - 1].strip()
                if prev_blank and not line.lstrip().startswith(("-", "*", "|", ">")):
                    add(line)
    _anchor_cache[path] = found
    return found


def check_file(path):
    broken = []
    with open(path, encoding="utf-8") as f:
        lines = strip_code(f.read().split("\n"))
    base = os.path.dirname(path)
    for n, line in enumerate(lines, 1):
        text = without_code_spans(line)
        targets = [m.group(2) for m in INLINE_LINK.finditer(text)]
        m = REF_DEF.match(text)
        if m:
            targets.append(m.group(1))
        for target in targets:
            problem = check_target(path, base, target)
            if problem:
                broken.append((n, target, problem))
    return broken


def check_target(path, base, target):
    if not target or SCHEME.match(target) or target.startswith("//"):
        return None
    file_part, _, anchor = target.partition("#")
    file_part = file_part.split("?")[0]
    if file_part:
        if file_part.startswith("/"):
            dest = os.path.normpath(os.path.join(ROOT, file_part.lstrip("/")))
        else:
            dest = os.path.normpath(os.path.join(base, file_part))
        if not os.path.exists(dest):
            return "no such file or folder"
    else:
        dest = path
    if anchor:
        if os.path.isdir(dest):
            return "an anchor into a folder"
        if not dest.endswith(".md"):
            return None  # line anchors into source files are GitHub's, not checked here
        if anchor not in anchors(dest):
            return "no heading #%s in %s" % (anchor, os.path.relpath(dest, ROOT))
    return None


def main():
    files = doc_files()
    broken = 0
    for path in files:
        for n, target, problem in check_file(path):
            broken += 1
            print("%s:%d: %s: %s" % (os.path.relpath(path, ROOT), n, target, problem))
    if broken:
        print("%d broken link(s) in %d file(s) checked" % (broken, len(files)), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
