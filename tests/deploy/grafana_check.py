#!/usr/bin/env python3
"""Checks a Grafana dashboard against the metrics debriefd exports.

usage: grafana_check.py DASHBOARD.json METRICS.txt [--promql-rules OUT.json]

Every PromQL query of the dashboard (the targets of its panels, rows' nested panels included,
its annotations, and its templating queries) must name at least one debriefd metric (debrief_ or process_), and every
such name it uses must be declared by a `# TYPE` line of METRICS.txt (debriefd's /metrics,
Prometheus text format). Each label a query reads (in a {...} matcher, a by/without/on/ignoring
clause, label_values(), or a legend's {{label}}) must be one that the metrics of the query
carry in METRICS.txt; instance and job (added by Prometheus when it scrapes) always pass. Every
$variable a query uses must be defined by the dashboard or be one of Grafana's own.

--promql-rules writes the queries as Prometheus recording rules (variables replaced by sample
values) so that `promtool check rules OUT.json` can parse them.

Exit 0 with a one-line summary; 1 listing each offender with its panel; 2 on usage errors.
"""

import argparse
import json
import re
import sys

PROG = "grafana_check"
# debriefd's own families, and the standard process_ ones it exports too.
DEBRIEF = re.compile(r"(?<![A-Za-z0-9_:])(?:debrief|process)_[A-Za-z0-9_:]*")
SELECTOR = re.compile(r"(?<![A-Za-z0-9_:])((?:debrief|process)_[A-Za-z0-9_:]*)\s*\{")
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")
LABEL_VALUES = re.compile(r"^\s*label_values\s*\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$",
                          re.S)
LEGEND = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)"
                      r"(?::[^\]]*)?\]\]")
# Labels Prometheus adds to every series it scrapes, not in the exposition.
TARGET_LABELS = {"instance", "job"}
GRAFANA_VARIABLES = {"__interval", "__interval_ms", "__rate_interval", "__range", "__range_s",
                     "__range_ms", "__from", "__to", "__dashboard", "__org", "__user",
                     "__name", "timeFilter", "__timeFilter"}
DURATIONS = {"__interval": "1m", "__rate_interval": "5m", "__range": "1h", "__range_s": "3600",
             "__range_ms": "3600000", "__interval_ms": "60000", "__from": "0", "__to": "0"}


class Failure(Exception):
    pass


def read_exposition(path):
    """Returns {family: set of label names} from the # TYPE lines and samples of path."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise Failure(f"{path}: {e.strerror}")
    families = {}
    kinds = {}
    for line in lines:
        m = re.match(r"#\s*TYPE\s+([A-Za-z_:][A-Za-z0-9_:]*)\s+(\w+)", line)
        if m:
            families.setdefault(m.group(1), set())
            kinds[m.group(1)] = m.group(2)
    if not families:
        raise Failure(f"{path}: no # TYPE line: not a Prometheus exposition")
    # Histograms and summaries export their series under derived names.
    for name, kind in kinds.items():
        if kind in ("histogram", "summary"):
            for suffix in ("_bucket", "_sum", "_count", "_created"):
                if kind == "summary" and suffix == "_bucket":
                    continue
                families.setdefault(name + suffix, families[name])
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\{)?", line)
        if not m or m.group(1) not in families or not m.group(2):
            continue
        labels, _ = parse_matchers(line, m.end(), sample=True)
        families[m.group(1)].update(name for name, _, _ in labels)
    return families


def parse_matchers(text, pos, sample=False):
    """Parses `name op "value", ...}` from text[pos:] (just past the `{`).

    Returns ([(name, op, value)], position past the `}`). Raises ValueError when it is not
    a list of matchers (or, with sample, of exposition labels)."""
    out = []
    ops = ("=",) if sample else ("=~", "!~", "!=", "=")
    while True:
        while pos < len(text) and text[pos] in " \t\n,":
            pos += 1
        if pos < len(text) and text[pos] == "}":
            return out, pos + 1
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(text, pos)
        if not m:
            raise ValueError(f"a label name expected at {text[pos:pos + 20]!r}")
        name, pos = m.group(0), m.end()
        while pos < len(text) and text[pos] in " \t\n":
            pos += 1
        op = next((o for o in ops if text.startswith(o, pos)), None)
        if op is None:
            raise ValueError(f"a matcher operator expected after {name!r}")
        pos += len(op)
        while pos < len(text) and text[pos] in " \t\n":
            pos += 1
        if pos >= len(text) or text[pos] not in "\"'`":
            raise ValueError(f"a quoted value expected for {name!r}")
        value, pos = read_string(text, pos)
        out.append((name, op, value))


def read_string(text, pos):
    quote, pos, value = text[pos], pos + 1, []
    while pos < len(text):
        c = text[pos]
        if c == "\\" and quote != "`" and pos + 1 < len(text):
            value.append(text[pos:pos + 2])
            pos += 2
            continue
        if c == quote:
            return "".join(value), pos + 1
        value.append(c)
        pos += 1
    raise ValueError("a string is not closed")


def strip_strings(text):
    """text with every string literal's contents blanked (names inside values do not count)."""
    out, pos = [], 0
    while pos < len(text):
        if text[pos] in "\"'`":
            try:
                _, end = read_string(text, pos)
            except ValueError:
                return "".join(out) + text[pos:]
            out.append(text[pos] + " " * (end - pos - 2) + text[pos])
            pos = end
        else:
            out.append(text[pos])
            pos += 1
    return "".join(out)


def walk_panels(panels, parent=""):
    """Yields (panel, "Row / Title"): an open row's panels follow it, a folded row's are in it."""
    row = parent
    for p in panels or []:
        if not isinstance(p, dict):
            continue
        title = p.get("title") or f"(untitled {p.get('type', 'panel')} {p.get('id', '?')})"
        if p.get("type") == "row":
            row = title if not parent else f"{parent} / {title}"
            yield p, row
            yield from walk_panels(p.get("panels"), row)
            continue
        yield p, (f"{row} / {title}" if row else title)
        if p.get("panels"):  # an old-style nested panel list
            yield from walk_panels(p.get("panels"), f"{row} / {title}" if row else title)


def is_prometheus(ds):
    if ds is None:
        return True  # the panel's (or the dashboard's) default
    if isinstance(ds, str):
        return ds.startswith("$") or "prometheus" in ds.lower()
    return ds.get("type") in (None, "prometheus") and ds.get("uid") != "-- Grafana --"


def collect_queries(dash):
    """Returns [(where, kind, query, legend, datasource)] with kind expr or label_values."""
    queries = []
    for panel, title in walk_panels(dash.get("panels")):
        for t in panel.get("targets") or []:
            ds = t.get("datasource", panel.get("datasource"))
            if not is_prometheus(ds):
                continue
            where = f'panel "{title}" (query {t.get("refId", "?")})'
            queries.append((where, "expr", t.get("expr"), t.get("legendFormat") or "", ds))
    for a in (dash.get("annotations") or {}).get("list") or []:
        if a.get("builtIn") or not is_prometheus(a.get("datasource")):
            continue
        where = f'annotation "{a.get("name", "?")}"'
        queries.append((where, "expr", a.get("expr") or (a.get("target") or {}).get("expr"),
                        "", a.get("datasource")))
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query" or not is_prometheus(v.get("datasource")):
            continue
        q = v.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        q = q or v.get("definition")
        where = f'variable "{v.get("name", "?")}"'
        queries.append((where, "label_values" if q and LABEL_VALUES.match(q) else "expr", q, "",
                        v.get("datasource")))
    return queries


def check(dash_path, metrics_path, rules_path=None):
    try:
        with open(dash_path, encoding="utf-8") as f:
            dash = json.load(f)
    except OSError as e:
        raise Failure(f"{dash_path}: {e.strerror}")
    except ValueError as e:
        raise Failure(f"{dash_path}: not valid JSON: {e}")
    if not isinstance(dash, dict):
        raise Failure(f"{dash_path}: not a dashboard (a JSON object)")
    if not any(p.get("type") != "row" for p, _ in walk_panels(dash.get("panels"))):
        raise Failure(f"{dash_path}: no panels")
    families = read_exposition(metrics_path)
    variables = {v.get("name") for v in (dash.get("templating") or {}).get("list") or []}
    variables |= {i.get("name") for i in dash.get("__inputs") or []}

    problems, used, rules = [], set(), []
    queries = collect_queries(dash)
    if not queries:
        raise Failure(f"{dash_path}: no Prometheus queries")
    for where, kind, query, legend, ds in queries:
        if not isinstance(query, str) or not query.strip():
            problems.append(f"{where}: no PromQL expr")
            continue
        bare = strip_strings(query)
        names = sorted(set(DEBRIEF.findall(bare)))
        if not names:
            problems.append(f"{where}: names no debriefd metric: {query}")
        for n in names:
            if n in families:
                used.add(n)
            else:
                problems.append(f"{where}: {n} is not exported by debriefd")
        known = [n for n in names if n in families]
        carried = set().union(*(families[n] for n in known)) | TARGET_LABELS if known else None

        def label(name, what, of=None):
            if name in ("__name__",) or carried is None:
                return
            have = families[of] | TARGET_LABELS if of else carried
            if name not in have:
                metric = of or ", ".join(known)
                labels = ", ".join(sorted(have - TARGET_LABELS)) or "none"
                problems.append(f"{where}: label {name!r} ({what}) is not a label of {metric} "
                                f"(it has: {labels})")

        for m in SELECTOR.finditer(bare):
            if m.group(1) not in families:
                continue
            try:
                matchers, _ = parse_matchers(query, m.end())
            except ValueError as e:
                problems.append(f"{where}: cannot read the matchers of {m.group(1)}: {e}")
                continue
            for name, _, _ in matchers:
                label(name, "matcher", m.group(1))
        for m in GROUPING.finditer(bare):
            for name in filter(None, (s.strip() for s in m.group(2).split(","))):
                label(name, m.group(1))
        for name in LEGEND.findall(legend):
            label(name, "legend")
        if kind == "label_values":
            label(LABEL_VALUES.match(query).group(2), "label_values")
        for m in VARIABLE.finditer(query):
            name = next(g for g in m.groups() if g)
            if name not in variables and name not in GRAFANA_VARIABLES:
                problems.append(f"{where}: ${name} is not a variable of the dashboard")
        if isinstance(ds, dict) and ds.get("uid") not in (None, "${DS_PROMETHEUS}"):
            problems.append(f"{where}: datasource uid {ds.get('uid')!r}, not ${{DS_PROMETHEUS}} "
                            "(an exported dashboard asks for its Prometheus on import)")
        if kind == "expr":
            rules.append({"record": f"grafana_check:query_{len(rules) + 1}",
                          "expr": VARIABLE.sub(sample_value, query),
                          "labels": {"where": where}})

    if problems:
        for p in problems:
            print(f"{PROG}: {dash_path}: {p}", file=sys.stderr)
        print(f"{PROG}: FAILED: {len(problems)} problem(s) in {len(queries)} queries",
              file=sys.stderr)
        return 1
    if rules_path:
        with open(rules_path, "w", encoding="utf-8") as f:
            json.dump({"groups": [{"name": "grafana_check", "rules": rules}]}, f, indent=1)
    unused = sorted(n for n in families if n not in used and n.startswith(("debrief_", "process_"))
                    and not re.search(r"_(bucket|sum|count|created)$", n))
    note = f" ({len(unused)} not on the dashboard: {', '.join(unused)})" if unused else ""
    print(f"{PROG}: {len(queries)} queries, {len(used)} metrics, all exported{note}")
    return 0


def sample_value(m):
    name = next(g for g in m.groups() if g)
    return DURATIONS.get(name, ".*")


def main():
    ap = argparse.ArgumentParser(prog="grafana_check.py", description=__doc__.split("\n")[0])
    ap.add_argument("dashboard", metavar="DASHBOARD.json")
    ap.add_argument("metrics", metavar="METRICS.txt")
    ap.add_argument("--promql-rules", metavar="OUT.json",
                    help="write the queries as recording rules for `promtool check rules`")
    args = ap.parse_args()
    try:
        return check(args.dashboard, args.metrics, args.promql_rules)
    except Failure as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
