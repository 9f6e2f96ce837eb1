#!/usr/bin/env python3
"""Writes 26 weeks of a support team's tickets as generic webhook deliveries (for the insights
page's browser test): each category of the taxonomy gets tickets made of its own seed phrases,
spread over the weeks with a trend of its own (one rising, one falling, the rest steady), some
customers writing again about the same cause, praise assigned to named agents.

    history.py TAXONOMY.yaml OUT_DIR

The deliveries are JSON files for `debriefctl replay`, named so they replay in date order; the
dates are counted back from now, so the newest week is the current one.
"""
import datetime
import json
import os
import re
import sys

AGENTS = ["Ida Berg", "Max Lund", "Noor Haddad"]


EMERGING = [
    ("Label printer driver", "the label printer driver will not install"),
    ("Driver install fails", "label printer driver install fails"),
    ("Label printer", "cannot install the label printer driver"),
    ("Printer again", "the label printer driver still fails to install"),
]


def categories(path):
    """(id, kind, seed phrases) of each category, read without a YAML library."""
    out, current = [], None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"\s*- id:\s*(\S+)", line)
        if m:
            current = {"id": m.group(1), "kind": "complaint", "phrases": []}
            out.append(current)
            continue
        if current is None:
            continue
        m = re.match(r"\s*kind:\s*(\w+)", line)
        if m:
            current["kind"] = m.group(1)
        m = re.match(r"\s*seed_phrases:\s*(\[.*\])", line)
        if m:
            current["phrases"] = json.loads(m.group(1))
    return [c for c in out if c["phrases"]]


def main():
    taxonomy, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cats = categories(taxonomy)
    n = 0
    for week in range(25, -1, -1):  # oldest first
        for ci, c in enumerate(cats):
            if ci == 0:
                count = 1 + (25 - week) // 5  # rising
            elif ci == 1:
                count = 1 + week // 6  # falling
            else:
                count = 1 + (ci + week) % 2
            for k in range(count):
                n += 1
                when = now - datetime.timedelta(weeks=week, hours=1 + 7 * k + ci)
                customer = f"cust-{(n * 31) % 150}"  # some customers come back
                phrase = c["phrases"][(week + k) % len(c["phrases"])]
                ticket = {
                    "id": f"H{n}",
                    "subject": phrase.capitalize(),
                    "description": f"Hello, {phrase}.",
                    "status": "solved" if week > 2 else "open",
                    "created_at": when.isoformat().replace("+00:00", "Z"),
                    "requester": {"id": customer, "name": customer,
                                  "email": f"{customer}@example.com"},
                    "url": f"https://helpdesk.example/tickets/H{n}",
                }
                if c["kind"] == "praise":
                    ticket["assignee"] = {"name": AGENTS[(n + ci) % len(AGENTS)]}
                body = {"event": "ticket.created", "ticket": ticket}
                with open(os.path.join(out_dir, f"{n:05d}-H{n}.json"), "w") as f:
                    json.dump(body, f)
    # A cause no category names, over the last days: an emerging issue.
    for k, (subject, text) in enumerate(EMERGING):
        n += 1
        when = now - datetime.timedelta(days=3 - k, hours=2)
        customer = f"cust-new-{k}"
        ticket = {
            "id": f"H{n}", "subject": subject, "description": text, "status": "open",
            "created_at": when.isoformat().replace("+00:00", "Z"),
            "requester": {"id": customer, "name": customer, "email": f"{customer}@example.com"},
            "url": f"https://helpdesk.example/tickets/H{n}",
        }
        with open(os.path.join(out_dir, f"{n:05d}-H{n}.json"), "w") as f:
            json.dump({"event": "ticket.created", "ticket": ticket}, f)
    print(n)


if __name__ == "__main__":
    main()
