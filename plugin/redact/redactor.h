#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/string_view.h"
#include "debrief/v1/model.pb.h"

namespace debrief::redact {

enum class PiiKind { kEmail, kPhone, kCard, kIban, kName };

struct PiiSpan {
  size_t begin = 0;  // byte offsets into the text
  size_t end = 0;
  PiiKind kind = PiiKind::kEmail;
};

// Finds and removes personal data from text that leaves the helpdesk side (anything sent to a
// tracker): e-mail addresses (also "name at example dot com"), phone numbers (international
// and national forms, told apart from dates, times, versions, amounts and order numbers),
// payment card numbers (13-19 digits passing the Luhn check), IBANs (ISO 13616 mod-97 check)
// and the names the helpdesk gives for the requester (each part, whole words, any case).
// Each span becomes a placeholder: [email], [phone], [card], [iban], [name].
//
// Stateless after construction and thread-safe. Measured on tests/plugin/testdata/pii_corpus.tsv
// by redactor_test (recall and precision printed).
class Redactor {
 public:
  Redactor();

  // Spans in text order, never overlapping.
  std::vector<PiiSpan> Find(absl::string_view text, const std::vector<std::string>& names) const;

  std::string Redact(absl::string_view text, const std::vector<std::string>& names = {}) const;
  // The requester's name parts as names.
  std::string Redact(absl::string_view text, const v1::Person& requester) const;

  static std::vector<std::string> NamesOf(const v1::Person& p);
  static const char* Placeholder(PiiKind k);

  // Exposed for tests.
  static bool LuhnValid(absl::string_view digits);
  static bool IbanValid(absl::string_view compact);  // upper-case, no spaces
};

// The process-wide instance (patterns compiled once).
const Redactor& DefaultRedactor();

}  // namespace debrief::redact
