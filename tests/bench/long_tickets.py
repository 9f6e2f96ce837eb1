#!/usr/bin/env python3
"""Makes e-mail-length tickets from a labelled CSV of short sentences (text, category).

Each ticket joins sentences of one category into a customer's message with what real
e-mail tickets carry around it: a greeting, a sign-off and signature, and (in most) a quoted
earlier reply from support that itself quotes the customer's earlier message, about another
matter. Lengths follow a log-normal with a median of 800 and a mean of about 1,100
characters, as support e-mail does. Deterministic for a given seed.

Usage: long_tickets.py IN.csv OUT.csv [--per-sentence K] [--seed N]
  K: tickets per input sentence, on average (default 1): the number of tickets is
     K * len(IN), each sentence appearing in several tickets.
Prints the count, median and mean length to stderr."""
import argparse
import csv
import math
import random
import statistics
import sys

GREETINGS = ["Hi,", "Hello,", "Hi there,", "Hello support,", "Dear support team,", "Hi team,",
             "Good morning,", "Hey,", "Dear Sir or Madam,", "Hello again,"]
OPENERS = ["", "", "", "I hope you can help me. ", "Sorry to bother you again. ",
           "I have a question about my account. ", "I'm writing because of a problem. ",
           "Quick question. ", "I need some help with something. "]
JOINERS = ["", "", "", "", "Also, ", "And ", "To be clear, ", "Just to add, ", "On top of that, ",
           "In other words, ", "Basically, "]
CLOSERS = ["", "", "Thanks in advance.", "Any help would be appreciated.",
           "Please let me know as soon as possible.", "Looking forward to your reply.",
           "I'd appreciate a quick answer.", "Can someone get back to me today?"]
SIGNOFFS = ["Thanks,", "Thank you,", "Kind regards,", "Best regards,", "Regards,", "Cheers,",
            "Best,", "Many thanks,", "Sincerely,"]
FIRST = ["Jane", "Sam", "Alex", "Priya", "Tomás", "Mei", "Olu", "Chris", "Fatima", "Lukas",
         "Ana", "Noah", "Sofia", "Kenji", "Maria", "David"]
LAST = ["Doe", "Smith", "Okafor", "Nguyen", "García", "Schmidt", "Rossi", "Kowalski", "Haddad",
        "Larsen", "Tanaka", "Brown"]
TITLES = ["", "", "Operations Manager", "Freelance designer", "Finance | Northwind Ltd",
          "Head of IT, Contoso GmbH", "Owner, Blue Fern Bakery"]
DEVICES = ["", "", "", "Sent from my iPhone", "Sent from my Galaxy", "Get Outlook for Android"]
AGENT_REPLIES = [
    ["Thank you for contacting us.", "We have looked into your request and made the change.",
     "Is there anything else we can help you with?"],
    ["Thanks for getting in touch.", "I've passed this on to the team, who will follow up.",
     "We appreciate your patience."],
    ["Thank you for your message.", "Could you send us a few more details so we can check?",
     "We are happy to help."],
    ["Thanks for reaching out.", "This should now be sorted on our side.",
     "Let us know if you see it again."],
]
AGENTS = ["Support", "Customer Care", "Help Centre", "Service Team"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def signature(rnd):
    name = f"{rnd.choice(FIRST)} {rnd.choice(LAST)}"
    lines = [rnd.choice(SIGNOFFS), name if rnd.random() < 0.6 else name.split()[0]]
    title = rnd.choice(TITLES)
    if title:
        lines.append(title)
    if rnd.random() < 0.3:
        lines.append(f"+44 20 7946 {rnd.randrange(10000):04d}")
    device = rnd.choice(DEVICES)
    if device:
        lines += ["", device]
    if rnd.random() < 0.25:  # some mail clients write the delimiter first
        lines = ["-- "] + lines[1:]
    return lines


def quoted_reply(rnd, earlier):
    when = (f"On {rnd.choice(DAYS)}, {rnd.randint(1, 28)} {rnd.choice(MONTHS)} 2026 at "
            f"{rnd.randint(7, 19):02d}:{rnd.randrange(60):02d}, {rnd.choice(AGENTS)} "
            f"<support@example.com> wrote:")
    body = ["Hello,", ""] + rnd.choice(AGENT_REPLIES) + ["", "Kind regards,", rnd.choice(AGENTS)]
    lines = [when] + [f"> {line}".rstrip() for line in body]
    lines += [">", f"> On {rnd.choice(DAYS)}, {rnd.randint(1, 28)} {rnd.choice(MONTHS)} 2026, "
              f"a customer wrote:", f"> > {earlier}"]
    return lines


def make(rnd, sentences, other, target):
    """One ticket: sentences of one category until the narrative fills the target length."""
    rnd.shuffle(sentences)
    quote = quoted_reply(rnd, rnd.choice(other)) if rnd.random() < 0.7 else []
    sig = signature(rnd)
    overhead = sum(len(s) + 1 for s in quote + sig) + 20
    parts, size, i = [], 0, 0
    while i < len(sentences):
        s = sentences[i].strip()
        i += 1
        if parts and size + len(s) / 2 > target - overhead:
            break
        joiner = rnd.choice(JOINERS)
        if joiner and s:
            s = joiner + s[0].lower() + s[1:]
        if s and s[-1] not in ".?!":
            s += "."
        parts.append(s)
        size += len(s) + 1
    paragraphs, k = [], 0
    while k < len(parts):
        n = rnd.randint(2, 4)
        paragraphs.append(" ".join(parts[k:k + n]))
        k += n
    paragraphs[0] = rnd.choice(OPENERS) + paragraphs[0]
    closer = rnd.choice(CLOSERS)
    lines = [rnd.choice(GREETINGS), ""]
    for p in paragraphs:
        lines += [p, ""]
    if closer:
        lines += [closer, ""]
    lines += sig
    if quote:
        lines += [""] + quote
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--per-sentence", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args()
    rows = list(csv.DictReader(open(a.src, newline="")))
    by = {}
    for r in rows:
        by.setdefault(r["category"], []).append(r["text"])
    rnd = random.Random(a.seed)
    cats = sorted(by)
    # log-normal: median 800, mean 800 * exp(sigma^2 / 2) = 1,100
    sigma = math.sqrt(2 * math.log(1100 / 800))
    out, lengths = [], []
    for cat in cats:
        others = [s for c in cats if c != cat for s in by[c][:20]]
        for _ in range(max(1, round(a.per_sentence * len(by[cat])))):
            target = min(8000, max(200, rnd.lognormvariate(math.log(800), sigma)))
            text = make(rnd, list(by[cat]), others, target)
            out.append((text, cat))
            lengths.append(len(text))
    rnd.shuffle(out)
    with open(a.out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "category"])
        w.writerows(out)
    print(f"{a.out}: {len(out)} tickets, median {statistics.median(lengths):.0f} and mean "
          f"{statistics.mean(lengths):.0f} characters", file=sys.stderr)


if __name__ == "__main__":
    main()
