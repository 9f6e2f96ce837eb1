#pragma once

#include <string>

#include "absl/strings/string_view.h"
#include "debrief/v1/model.pb.h"

namespace debrief::store {

// The person a ticket's requester is, across every helpdesk, as a key for matching and nothing
// else: a keyed hash (HMAC-SHA256, keyed with the installation's id) of the case-folded e-mail
// address, so the same customer writing to two helpdesks is one journey and the store holds no
// second copy of the address; without an e-mail, the helpdesk's id for them within that
// helpdesk; empty when the ticket names no requester.
std::string PersonKey(absl::string_view installation_key, const v1::Ticket& ticket);

}  // namespace debrief::store
