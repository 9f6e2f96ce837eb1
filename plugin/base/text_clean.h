#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

// Text clean-up for ticket bodies: adapters use it when they normalise a ticket, the
// classifier again on whatever text it is given.
namespace debrief::base {

// Drops HTML tags (and <script>/<style> content), decodes common entities, turns <br> and
// block ends into newlines.
std::string HtmlToText(absl::string_view html);

// Keeps the customer's own words: cuts at the first quoted-reply header ("On ... wrote:",
// "-----Original Message-----", "From: ... Sent: ..."), drops "> " quoted lines and a
// signature after "-- ".
std::string StripQuotedReply(absl::string_view text);

// RFC 3339 ("2026-11-23T08:12:00Z", with offset or fraction) or Unix seconds.
absl::StatusOr<absl::Time> ParseTimestamp(absl::string_view text);

}  // namespace debrief::base
