#!/usr/bin/env python3
"""Writes pii_corpus.tsv: support-ticket sentences with personal data marked up, for
redactor_test (recall and precision of plugin/redact). Deterministic (seeded).

Each line: requester name <TAB> text, where personal data is marked [[kind:value]]
(kind: email, phone, card, iban, name). Lines without markup are negatives: numbers that are
not personal data (dates, versions, amounts, order numbers, IP addresses, non-Luhn numbers).

Card numbers get their Luhn digit and IBANs their mod-97 check digits computed here, not by
the code under test.
"""
import random
import string

rng = random.Random(20261123)

FIRST = ["Maria", "John", "Aisha", "Wei", "Olga", "Pierre", "Sven", "Fatima", "Kenji", "Laura",
         "Mohammed", "Ana", "Liam", "Chloe", "Raj", "Ingrid", "Tomasz", "Zoe", "Diego", "Hannah",
         "Anne-Marie", "José", "Siobhan", "Björn", "Nguyen", "Priya", "Oluwaseun", "Emma", "Noah",
         "Grace"]
LAST = ["Gonzalez", "Smith", "Khan", "Zhang", "Petrova", "Dubois", "Larsson", "Haddad", "Tanaka",
        "Rossi", "Ali", "Silva", "O'Brien", "Martin", "Patel", "Johansen", "Kowalski", "Müller",
        "Fernández", "Schmidt", "van der Berg", "Nakamura", "Okafor", "Brown", "Wilson", "Lee"]
DOMAINS = ["example.com", "mail.example.org", "example.co.uk", "corp.example.net",
           "uni-example.edu", "example.io", "exämple.de", "post.example.fr"]


def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(rng.randrange(10))
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    digits.append((10 - total % 10) % 10)
    return "".join(map(str, digits))


def not_luhn(length):
    s = luhn_complete(rng.choice(["4", "51", "37"]), length)
    return s[:-1] + str((int(s[-1]) + rng.randrange(1, 10)) % 10)


def group(s, sizes, sep):
    out, i = [], 0
    for n in sizes:
        out.append(s[i:i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(x for x in out if x)


def card():
    kind = rng.choice(["visa", "mc", "amex", "visa19", "disc"])
    if kind == "visa":
        n, sizes = luhn_complete("4", 16), [4, 4, 4, 4]
    elif kind == "mc":
        n, sizes = luhn_complete(rng.choice(["51", "52", "55", "2221"]), 16), [4, 4, 4, 4]
    elif kind == "amex":
        n, sizes = luhn_complete(rng.choice(["34", "37"]), 15), [4, 6, 5]
    elif kind == "visa19":
        n, sizes = luhn_complete("4", 19), [4, 4, 4, 4, 3]
    else:
        n, sizes = luhn_complete("6011", 16), [4, 4, 4, 4]
    return group(n, sizes, rng.choice([" ", "-", "", " "]))


IBAN_SPECS = {"DE": 18, "GB": None, "FR": 23, "NL": None, "ES": 20, "IT": None, "BE": 12,
              "CH": 17, "AT": 16, "PL": 24, "SE": 20, "NO": 11, "IE": None, "PT": 21}


def iban():
    cc = rng.choice(list(IBAN_SPECS))
    if cc == "GB":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
            rng.choice(string.digits) for _ in range(14))
    elif cc == "NL":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
            rng.choice(string.digits) for _ in range(10))
    elif cc == "IE":
        bban = "".join(rng.choice(string.ascii_uppercase) for _ in range(4)) + "".join(
            rng.choice(string.digits) for _ in range(14))
    elif cc == "IT":
        bban = rng.choice(string.ascii_uppercase) + "".join(
            rng.choice(string.digits) for _ in range(22))
    else:
        bban = "".join(rng.choice(string.digits) for _ in range(IBAN_SPECS[cc]))
    moved = bban + cc + "00"
    num = int("".join(str(int(c, 36)) for c in moved))
    check = 98 - num % 97
    compact = f"{cc}{check:02d}{bban}"
    style = rng.choice(["compact", "spaced", "spaced", "lower"])
    if style == "spaced":
        return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    if style == "lower":
        return compact.lower() if rng.random() < 0.3 else compact
    return compact


def phone():
    kind = rng.choice(["us", "us", "uk", "de", "fr", "intl", "in", "jp", "au", "br", "plain"])
    d = lambda n: "".join(rng.choice(string.digits) for _ in range(n))
    a = str(rng.randrange(2, 10))
    if kind == "us":
        area, ex, num = a + d(2), str(rng.randrange(2, 10)) + d(2), d(4)
        return rng.choice([f"({area}) {ex}-{num}", f"{area}-{ex}-{num}", f"{area}.{ex}.{num}",
                           f"+1 {area} {ex} {num}", f"1-{area}-{ex}-{num}", f"+1 ({area}) {ex}-{num}"])
    if kind == "uk":
        return rng.choice([f"+44 20 {d(4)} {d(4)}", f"020 {d(4)} {d(4)}", f"07{d(3)} {d(6)}",
                           f"+44 7{d(3)} {d(6)}", f"0044 161 {d(3)} {d(4)}"])
    if kind == "de":
        return rng.choice([f"+49 30 {d(8)}", f"030 {d(4)} {d(4)}", f"+49 (0)89 {d(3)} {d(4)}",
                           f"0171/{d(7)}", f"+49-151-{d(8)}"])
    if kind == "fr":
        return rng.choice([f"+33 6 {d(2)} {d(2)} {d(2)} {d(2)}", f"06 {d(2)} {d(2)} {d(2)} {d(2)}",
                           f"01.{d(2)}.{d(2)}.{d(2)}.{d(2)}"])
    if kind == "in":
        return rng.choice([f"+91 98{d(3)} {d(5)}", f"+91-{a}{d(9)}"])
    if kind == "jp":
        return rng.choice([f"+81 3-{d(4)}-{d(4)}", f"090-{d(4)}-{d(4)}"])
    if kind == "au":
        return rng.choice([f"+61 4{d(2)} {d(3)} {d(3)}", f"(02) {d(4)} {d(4)}"])
    if kind == "br":
        return rng.choice([f"+55 11 9{d(4)}-{d(4)}", f"(11) 9{d(4)}-{d(4)}"])
    if kind == "plain":
        return a + d(9)
    return f"+{rng.randrange(30, 99)} {d(3)} {d(3)} {d(3)}"


def email(first, last):
    f = first.lower().replace("é", "e").replace("ö", "o").replace("-", "")
    l = last.lower().replace(" ", "").replace("'", "").replace("ü", "ue").replace("á", "a")
    local = rng.choice([f"{f}.{l}", f"{f[0]}{l}", f"{f}_{l}{rng.randrange(1, 99)}", f"{f}+support",
                        f"{l}.{f}", f"{f}"])
    dom = rng.choice(DOMAINS)
    if rng.random() < 0.08:
        return rng.choice([f"{local} at {dom.replace('.', ' dot ')}", f"{local} [at] {dom.replace('.', ' [dot] ')}"])
    if rng.random() < 0.1:
        local = local.upper()
    return f"{local}@{dom}"


def M(kind, value):
    return f"[[{kind}:{value}]]"


def person():
    return rng.choice(FIRST), rng.choice(LAST)


TEMPLATES = [
    "Hi, this is {fn}. I was charged twice for my subscription, please refund to card {card}.",
    "My name is {fn} {ln} and I cannot log in. You can reach me at {phone} or {email}.",
    "Please call me back on {phone}, it's urgent. Thanks, {fn}",
    "Refund should go to my IBAN {iban} (account holder {fn} {ln}).",
    "{fn} here again - still no answer. Email: {email}",
    "The app crashes when I upload a photo. Contact {email} if you need logs. Regards, {fn} {ln}",
    "I paid with {card} on 2026-10-03 but order #48213 still says unpaid.",
    "hello my number is {phone} pls call, {fnl} {lnl}",
    "Wire transfer from {iban} was rejected, ref 2026-1187.",
    "Best regards,\\n{fn} {ln}\\nMobile: {phone}\\n{email}",
    "Thank you so much! Sarah on your team was wonderful. - {fn}",
    "Can you update my card to {card}? The old one expired 09/26.",
    "{FN}'s account was locked after the update to version 4.12.3.",
    "Tel. {phone} / Fax {phone2}",
    "I suggest adding dark mode. Happy to test it: {email}, {phone}.",
    "Bank details: IBAN {iban}, BIC DEUTDEFF. Name: {fn} {ln}.",
    "My husband {fn2} and I ({fn}) share the account {email}.",
    "card number {card} exp 12/27 cvc withheld",
    "Please send the invoice to {email} instead of my old address.",
    "WhatsApp me: {phone}",
]

NEGATIVES = [
    "Order 84721934 arrived damaged on 2026-11-02.",
    "I upgraded to 3.14.159 and now it crashes.",
    "The server at 192.168.100.254 refuses connections since 10:45.",
    "I was charged $1,249.99 instead of $249.99 on 11/23/2026.",
    "Tracking number 1Z999AA10123456784 shows no movement.",
    "Invoice INV-2026-004512 is wrong: 12 items billed, 10 delivered.",
    "Error code 0x80070005 when saving, build 20261101.4412.",
    "Ticket 5512345 was closed without an answer.",
    "Our account id is 99231847 and we have 250 seats.",
    "Between 2026-10-01 and 2026-10-31 the dashboard showed 0 visits.",
    "The reference 4111 2222 3333 4444 on the receipt does not match anything.",
    "I waited 45 minutes on hold at 14:30 yesterday.",
    "Price went from EUR 1299 to EUR 1499 without notice.",
    "Your docs at version 2.0.1 say the limit is 1000 requests per 60 seconds.",
    "Case 2026/11/0042 is still open after 3 weeks.",
    "Model XK-2000 serial 448812 stopped charging.",
    "PO 4500012345 needs to be on the invoice.",
    "We paid 3 invoices totalling 12.500,00 EUR.",
    "The meeting is on 23.11.2026 at 09.30.",
    "Confirmation code 7731 0042 8812 9934 was rejected.",
]


def render(t, fn, ln):
    fn2 = rng.choice([f for f in FIRST if f != fn])
    fields = {
        "fn": M("name", fn), "ln": M("name", ln), "FN": M("name", fn.upper()),
        "fnl": M("name", fn.lower()), "lnl": M("name", ln.lower()),
        "fn2": fn2,  # not the requester: not redacted, not marked
        "card": M("card", card()), "iban": M("iban", iban()), "phone": M("phone", phone()),
        "phone2": M("phone", phone()), "email": M("email", email(fn, ln)),
    }
    return t.format(**fields)


lines = []
for i in range(400):
    fn, ln = person()
    t = TEMPLATES[i % len(TEMPLATES)]
    lines.append((f"{fn} {ln}", render(t, fn, ln)))
for t in NEGATIVES:
    fn, ln = person()
    lines.append((f"{fn} {ln}", t))
# Hand-written cases.
lines += [
    ("Maria Gonzalez", "hola, soy [[name:maria]] [[name:gonzalez]], mi teléfono es [[phone:+34 612 34 56 78]]"),
    ("Jean-Luc Picard", "[[name:Jean-Luc]] again: write to [[email:jl.picard@starfleet.example]]"),
    ("Ann Lee", "Annual plan renewal failed; contact [[email:ann.lee@example.com]]"),
    ("Tom Brown", "Tomorrow is fine, call [[phone:(555) 010-4477]] after 5pm."),
    ("Sam Ng", "IBAN: [[iban:GB33BUKB20201555555555]] (test account from the bank's docs)"),
    ("Sam Ng", "Card [[card:4242424242424242]] declined at checkout."),
    ("Li Wei", "Contact: [[email:li.wei@example.cn]]; [[phone:+86 138 0013 8000]]"),
    ("Olu Ade", "reach me via [[phone:0803 123 4567]] or [[email:olu.ade@example.ng]]"),
    ("José Müller", "[[name:JOSÉ]] [[name:MÜLLER]] here, write to <[[email:jose.mueller@example.com]]>"),
    ("Ines Beck", "mailto:[[email:ines.beck@example.at]] tel:[[phone:+4366412345678]]"),
    ("Ola Nordmann", "kontonummer [[iban:NO93 8601 1117 947]], ring [[phone:+47 22 12 34 56]]"),
    ("Kai Roe", "Order 2026-11-23 12:00 was fine but call [[phone:+1 (415) 555-2671]]!"),
]

with open("pii_corpus.tsv", "w", encoding="utf-8") as f:
    f.write("# requester name\\ttext with [[kind:value]] markup; written by make_pii_corpus.py\n")
    for name, text in lines:
        f.write(f"{name}\t{text}\n")
