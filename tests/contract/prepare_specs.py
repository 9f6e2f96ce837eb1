#!/usr/bin/env python3
"""Builds the API descriptions the contract mocks serve, into OUT_DIR:

- github.json: trimmed from GitHub's own description (npm @octokit/openapi, MIT) to the paths
  the adapter calls; `application/vnd.github+json` aliased to `application/json` (the document
  declares only the latter, and GitHub's recommended Accept header would get 406 otherwise), and
  response examples written as a reference inlined (Prism would answer with the reference),
  and `language` no longer required of a repository (GitHub's own example omits it).
- jira.json: the Jira Cloud platform v3 description trimmed in specs/ (regenerate with
  `trim.py platform-swagger-v3.v3.json ...`, paths listed in README). That copy dates from 2024,
  before Atlassian replaced GET /rest/api/3/search with GET /rest/api/3/search/jql (same jql,
  fields and maxResults parameters; the old endpoint is gone from Jira Cloud): the new path is
  added with the old one's parameters and its documented answer shape (issues, nextPageToken);
  its response examples, written as JSON inside strings, are parsed; GET remotelink answers a
  list (as its own example and Jira do), not the single link its schema says.
- redmine.json: the community-maintained Redmine description (MIT) trimmed in specs/.

Every document then goes through sanitize.py's rewrite (Prism fails open on `nullable`
schemas without a type).
"""
import copy
import json
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1]
os.makedirs(out, exist_ok=True)

GITHUB_PATHS = [
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/issues/{issue_number}",
    "/repos/{owner}/{repo}/issues/{issue_number}/labels",
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    "/repos/{owner}/{repo}/issues/{issue_number}/events",
    "/repos/{owner}/{repo}/releases",
    "/repos/{owner}/{repo}/compare/{basehead}",
    "/search/issues",
]


def run(*args):
    subprocess.run([sys.executable, *args], check=True, stdout=subprocess.DEVNULL)


def alias_media(doc, alias):
    def walk(o):
        if isinstance(o, dict):
            content = o.get("content")
            if isinstance(content, dict) and "application/json" in content and alias not in content:
                content[alias] = content["application/json"]
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(doc)


def resolve_example_values(doc):
    """GitHub's description writes a response example as {"value": {"$ref": example}}; Prism
    then answers with the Example object itself, which its own response check refuses (500).
    Inline the referenced example's value."""
    examples = doc.get("components", {}).get("examples", {})

    def walk(o):
        if isinstance(o, dict):
            v = o.get("value")
            if isinstance(v, dict) and list(v.keys()) == ["$ref"] and \
                    v["$ref"].startswith("#/components/examples/"):
                o["value"] = examples[v["$ref"].rsplit("/", 1)[1]].get("value")
            for x in o.values():
                walk(x)
        elif isinstance(o, list):
            for x in o:
                walk(x)
    walk(doc.get("paths", {}))


# GitHub
full = os.path.join(here, "node_modules/@octokit/openapi/generated/api.github.com.json")
trimmed = os.path.join(out, "github.trimmed.json")
run(os.path.join(here, "trim.py"), full, trimmed, *GITHUB_PATHS)
doc = json.load(open(trimmed))
alias_media(doc, "application/vnd.github+json")
resolve_example_values(doc)
# GitHub's own example of a repository lacks `language`, which its schemas require; Prism then
# refuses its own answer (500). The example is right (GitHub omits it for repositories without
# code): the property stays, it is no longer required.
for name in ("full-repository", "repository", "nullable-repository", "minimal-repository"):
    schema = doc.get("components", {}).get("schemas", {}).get(name, {})
    if "language" in schema.get("required", []):
        schema["required"].remove("language")
json.dump(doc, open(trimmed, "w"))
run(os.path.join(here, "sanitize.py"), trimmed, os.path.join(out, "github.json"))

# Jira
doc = json.load(open(os.path.join(here, "specs/jira-v3.trimmed.json")))
old = doc["paths"]["/rest/api/3/search"]["get"]
new = copy.deepcopy(old)
new["operationId"] = "searchAndReconsileIssuesUsingJql"
new["parameters"] = [p for p in new.get("parameters", [])
                     if p.get("name") in ("jql", "maxResults", "fields", "expand", "properties",
                                          "fieldsByKeys")]
new["parameters"].append({"name": "nextPageToken", "in": "query", "schema": {"type": "string"}})
new["responses"] = {"200": {"description": "Returned if the request is successful.",
                            "content": {"application/json": {"schema": {
                                "type": "object",
                                "properties": {
                                    "issues": {"type": "array",
                                               "items": {"$ref": "#/components/schemas/IssueBean"}},
                                    "nextPageToken": {"type": "string"},
                                    "isLast": {"type": "boolean"}}},
                                "example": {"issues": [], "isLast": True}}}},
                    "400": old["responses"].get("400", {"description": "Bad request"}),
                    "401": old["responses"].get("401", {"description": "Unauthorized"})}
doc["paths"]["/rest/api/3/search/jql"] = {"get": new}


def parse_string_examples(o):
    """Jira's description writes response examples as JSON text inside a string; Prism would
    answer with that string, which its response check refuses (500). Parse them."""
    if isinstance(o, dict):
        ex = o.get("example")
        if isinstance(ex, str) and ex.lstrip()[:1] in ("{", "["):
            try:
                o["example"] = json.loads(ex)
            except ValueError:
                pass
        for v in o.values():
            parse_string_examples(v)
    elif isinstance(o, list):
        for v in o:
            parse_string_examples(v)


parse_string_examples(doc["paths"])
# GET .../remotelink without a globalId answers a list (the description's own example is one,
# and so is Jira), but the description's schema says a single RemoteIssueLink.
links = doc["paths"]["/rest/api/3/issue/{issueIdOrKey}/remotelink"]["get"]["responses"]["200"]
links["content"]["application/json"]["schema"] = {
    "type": "array", "items": {"$ref": "#/components/schemas/RemoteIssueLink"}}
tmp = os.path.join(out, "jira.unsanitized.json")
json.dump(doc, open(tmp, "w"))
run(os.path.join(here, "sanitize.py"), tmp, os.path.join(out, "jira.json"))

# Redmine
run(os.path.join(here, "sanitize.py"), os.path.join(here, "specs/redmine.trimmed.json"),
    os.path.join(out, "redmine.json"))
print("specs ready in", out)
