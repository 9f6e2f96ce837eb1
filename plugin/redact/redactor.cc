#include "redact/redactor.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace debrief::redact {
namespace {

bool IsWordByte(unsigned char c) { return std::isalnum(c) || c == '_' || c >= 0x80; }

// Lengths of IBANs by country (ISO 13616 registry); other countries: any length 15..34.
const std::map<std::string, int>& IbanLengths() {
  static const auto* m = new std::map<std::string, int>{
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BR", 29}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
      {"DE", 22}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
      {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
      {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IS", 26}, {"IT", 27},
      {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LI", 21}, {"LT", 20}, {"LU", 20},
      {"LV", 21}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31},
      {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24}, {"PL", 28}, {"PS", 29}, {"PT", 25},
      {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SE", 24}, {"SI", 19}, {"SK", 24},
      {"SM", 27}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VG", 24}, {"XK", 20}};
  return *m;
}

struct Patterns {
  RE2 email{
      R"((?:[\pL\pN][\pL\pN._%+\-]*)@[\pL\pN](?:[\pL\pN\-]*[\pL\pN])?(?:\.[\pL\pN](?:[\pL\pN\-]*[\pL\pN])?)*\.\pL{2,})"};
  // "jane.doe at example dot com", "jane [at] example [dot] com"
  RE2 spelled_email{
      R"((?i)[\pL\pN][\pL\pN._%+\-]*\s*(?:\[at\]|\(at\)|\{at\}|\s+at\s+)\s*[\pL\pN\-]+(?:\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+|\.)\s*[\pL\pN\-]+)*\s*(?:\[dot\]|\(dot\)|\{dot\}|\s+dot\s+)\s*\pL{2,6}\b)"};
  RE2 iban{R"((?i)\b[A-Z]{2}[0-9]{2}(?:[ \-]?[A-Z0-9]){11,32})"};
  RE2 card{R"(\b\d(?:[ \-]?\d){12,22})"};
  RE2 phone{R"((?:\+|\b00|\()?\s?\d[\d \-.()/]{4,24}\d)"};
  RE2 date{R"(^(?:\d{4}[\-/.]\d{1,2}[\-/.]\d{1,2}|\d{1,2}[\-/.]\d{1,2}[\-/.]\d{2,4})$)"};
  RE2 dotted{R"(^\d+(?:\.\d+)+$)"};
  RE2 phone_context{
      R"((?i)(?:phone|tel\b|telephone|call|mobile|cell|sms|text me|whats ?app|reach me|contact|fax|landline|number is|ring me|dial))"};
  RE2 id_context{
      R"((?i)(?:#|order|invoice|ticket|ref\b|reference|tracking|account|acct|\bid\b|case|\bpo\b|serial|transaction|confirmation|booking|customer (?:no|number)|sku|model)\W*$)"};
};

const Patterns& P() {
  static const Patterns* p = new Patterns();
  return *p;
}

int CountDigits(absl::string_view s) {
  return static_cast<int>(
      std::count_if(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }));
}

class Finder {
 public:
  explicit Finder(absl::string_view text) : text_(text) {}

  bool Free(size_t b, size_t e) const {
    for (const PiiSpan& s : spans_)
      if (b < s.end && s.begin < e) return false;
    return true;
  }
  void Add(size_t b, size_t e, PiiKind k) {
    if (b < e && Free(b, e)) spans_.push_back({b, e, k});
  }
  size_t Off(const re2::StringPiece& p) const { return p.data() - text_.data(); }

  // Every match of re, handed to fn(begin, end).
  template <typename Fn>
  void Each(const RE2& re, Fn fn) {
    re2::StringPiece in(text_.data(), text_.size());
    re2::StringPiece m;
    size_t pos = 0;
    while (pos < text_.size() && re.Match(in, pos, text_.size(), RE2::UNANCHORED, &m, 1)) {
      size_t b = Off(m), e = b + m.size();
      fn(b, e);
      pos = e > b ? e : b + 1;
    }
  }

  void Emails() {
    Each(P().email, [&](size_t b, size_t e) { Add(b, e, PiiKind::kEmail); });
    Each(P().spelled_email, [&](size_t b, size_t e) { Add(b, e, PiiKind::kEmail); });
  }

  void Ibans() {
    Each(P().iban, [&](size_t b, size_t e) {
      // Compact characters and where each ends in the text.
      std::string compact;
      std::vector<size_t> ends;
      for (size_t i = b; i < e; ++i) {
        char c = text_[i];
        if (c == ' ' || c == '-') continue;
        compact.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
        ends.push_back(i + 1);
      }
      const std::string country = compact.substr(0, 2);
      auto known = IbanLengths().find(country);
      std::vector<int> lengths;
      if (known != IbanLengths().end())
        lengths.push_back(known->second);
      else
        for (int l = 34; l >= 15; --l) lengths.push_back(l);
      for (int l : lengths) {
        if (l > static_cast<int>(compact.size())) continue;
        size_t end = ends[l - 1];
        // The IBAN ends at a word boundary: not in the middle of a group.
        if (end < text_.size() && std::isalnum(static_cast<unsigned char>(text_[end]))) continue;
        if (Redactor::IbanValid(compact.substr(0, l))) {
          Add(b, end, PiiKind::kIban);
          return;
        }
      }
    });
  }

  void Cards() {
    Each(P().card, [&](size_t b, size_t e) {
      std::string digits;
      std::vector<size_t> ends;
      for (size_t i = b; i < e; ++i)
        if (std::isdigit(static_cast<unsigned char>(text_[i]))) {
          digits.push_back(text_[i]);
          ends.push_back(i + 1);
        }
      for (int l : {16, 15, 19, 14, 13, 17, 18}) {
        if (l > static_cast<int>(digits.size())) continue;
        size_t end = ends[l - 1];
        if (end < text_.size() && std::isdigit(static_cast<unsigned char>(text_[end]))) continue;
        if (Redactor::LuhnValid(digits.substr(0, l))) {
          Add(b, end, PiiKind::kCard);
          return;
        }
      }
    });
  }

  void Phones() {
    Each(P().phone, [&](size_t b, size_t e) {
      // Leading space or an unmatched ")" is not part of the number.
      while (b < e && text_[b] == ' ') ++b;
      absl::string_view cand = text_.substr(b, e - b);
      // A candidate stops at a double space (two numbers side by side).
      if (size_t dbl = cand.find("  "); dbl != absl::string_view::npos) {
        cand = cand.substr(0, dbl);
        e = b + cand.size();
      }
      // Part of a code such as INV-2026-004512 or 1Z999AA10123456784.
      if (b > 0 && (std::isalnum(static_cast<unsigned char>(text_[b - 1])) ||
                    ((text_[b - 1] == '-' || text_[b - 1] == '/') && b > 1 &&
                     std::isalnum(static_cast<unsigned char>(text_[b - 2])))))
        return;
      const int digits = CountDigits(cand);
      if (digits < 7 || digits > 15) return;
      const bool plus = cand[0] == '+' || absl::StartsWith(cand, "00");
      const bool separated = cand.find_first_of(" -.()/") != absl::string_view::npos;
      if (!plus && RE2::FullMatch(re2::StringPiece(cand.data(), cand.size()), P().date)) return;
      if (!plus && cand.find('/') != absl::string_view::npos && digits <= 8) return;  // a date
      absl::string_view before = text_.substr(b >= 40 ? b - 40 : 0, b >= 40 ? 40 : b);
      const bool phone_ctx =
          RE2::PartialMatch(re2::StringPiece(before.data(), before.size()), P().phone_context);
      absl::string_view near = before.size() > 24 ? before.substr(before.size() - 24) : before;
      const bool id_ctx =
          RE2::PartialMatch(re2::StringPiece(near.data(), near.size()), P().id_context);
      // Amounts: a currency sign or code just before.
      if (!plus && b > 0) {
        absl::string_view prev = absl::StripTrailingAsciiWhitespace(text_.substr(0, b));
        if (!prev.empty() &&
            (prev.back() == '$' || absl::EndsWith(prev, "\xe2\x82\xac") ||
             absl::EndsWith(prev, "\xc2\xa3") || absl::EndsWithIgnoreCase(prev, "usd") ||
             absl::EndsWithIgnoreCase(prev, "eur")))
          return;
      }
      if (!plus && RE2::FullMatch(re2::StringPiece(cand.data(), cand.size()), P().dotted)) {
        // Versions and IP addresses, unless shaped like 555.123.4567.
        std::vector<absl::string_view> groups = absl::StrSplit(cand, '.');
        if (digits < 10 || groups.size() < 3 || (groups.size() == 4 && digits <= 12 && !phone_ctx))
          return;
      }
      if (plus || phone_ctx) {
        Add(b, e, PiiKind::kPhone);
        return;
      }
      if (id_ctx) return;
      if (!separated && digits < 10) return;  // a bare number: an id more likely than a phone
      Add(b, e, PiiKind::kPhone);
    });
  }

  void Names(const std::vector<std::string>& names) {
    auto add_if_word = [&](size_t b, size_t e) {
      bool left = b == 0 || !IsWordByte(static_cast<unsigned char>(text_[b - 1]));
      bool right = e >= text_.size() || !IsWordByte(static_cast<unsigned char>(text_[e]));
      if (left && right) Add(b, e, PiiKind::kName);
    };
    std::string lower;  // the text in ASCII lower case, made once for ASCII names
    for (const std::string& n : names) {
      if (n.size() < 2) continue;
      const bool ascii =
          std::all_of(n.begin(), n.end(), [](char c) { return absl::ascii_isascii(c); });
      if (!ascii) {
        // RE2's (?i) folds Unicode case: "JOSÉ" matches "José". Compiling costs ~10 µs, so
        // ASCII names take the plain search below.
        RE2 re(absl::StrCat("(?i)", RE2::QuoteMeta(n)));
        if (re.ok()) Each(re, add_if_word);
        continue;
      }
      if (lower.empty()) lower = absl::AsciiStrToLower(text_);
      const std::string ln = absl::AsciiStrToLower(n);
      for (size_t pos = lower.find(ln); pos != std::string::npos; pos = lower.find(ln, pos + 1))
        add_if_word(pos, pos + ln.size());
    }
  }

  std::vector<PiiSpan> Take() {
    std::sort(spans_.begin(), spans_.end(),
              [](const PiiSpan& a, const PiiSpan& b) { return a.begin < b.begin; });
    return std::move(spans_);
  }

 private:
  absl::string_view text_;
  std::vector<PiiSpan> spans_;
};

}  // namespace

Redactor::Redactor() { (void)P(); }

const Redactor& DefaultRedactor() {
  static const Redactor* r = new Redactor();
  return *r;
}

bool Redactor::LuhnValid(absl::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return !digits.empty() && sum % 10 == 0;
}

bool Redactor::IbanValid(absl::string_view compact) {
  if (compact.size() < 15 || compact.size() > 34) return false;
  std::string moved = absl::StrCat(compact.substr(4), compact.substr(0, 4));
  int rem = 0;
  for (char c : moved) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      int v = c - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

const char* Redactor::Placeholder(PiiKind k) {
  switch (k) {
    case PiiKind::kEmail:
      return "[email]";
    case PiiKind::kPhone:
      return "[phone]";
    case PiiKind::kCard:
      return "[card]";
    case PiiKind::kIban:
      return "[iban]";
    case PiiKind::kName:
      return "[name]";
  }
  return "[redacted]";
}

std::vector<std::string> Redactor::NamesOf(const v1::Person& p) {
  std::vector<std::string> out;
  for (absl::string_view part :
       absl::StrSplit(p.name(), absl::ByAnyChar(" ,\t"), absl::SkipEmpty())) {
    part = absl::StripAsciiWhitespace(part);
    if (part.size() >= 2 && part.back() != '.') out.emplace_back(part);
  }
  if (!p.name().empty()) out.push_back(p.name());
  // Longest first, so "Anne-Marie" is one span rather than "Anne" and "Marie".
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

std::vector<PiiSpan> Redactor::Find(absl::string_view text,
                                    const std::vector<std::string>& names) const {
  Finder f(text);
  f.Emails();
  f.Ibans();
  f.Cards();
  f.Phones();
  f.Names(names);
  return f.Take();
}

std::string Redactor::Redact(absl::string_view text, const std::vector<std::string>& names) const {
  std::string out;
  out.reserve(text.size());
  size_t at = 0;
  for (const PiiSpan& s : Find(text, names)) {
    out.append(text.data() + at, s.begin - at);
    out.append(Placeholder(s.kind));
    at = s.end;
  }
  out.append(text.data() + at, text.size() - at);
  return out;
}

std::string Redactor::Redact(absl::string_view text, const v1::Person& requester) const {
  return Redact(text, NamesOf(requester));
}

}  // namespace debrief::redact
