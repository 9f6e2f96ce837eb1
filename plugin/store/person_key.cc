#include "store/person_key.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace debrief::store {

std::string PersonKey(absl::string_view installation_key, const v1::Ticket& ticket) {
  const std::string email =
      absl::AsciiStrToLower(absl::StripAsciiWhitespace(ticket.requester().email()));
  if (!email.empty()) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), installation_key.data(), static_cast<int>(installation_key.size()),
         reinterpret_cast<const unsigned char*>(email.data()), email.size(), mac, &len);
    return absl::StrCat(
        "e:", absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(mac), 16)));
  }
  if (!ticket.requester().id().empty())
    return absl::StrCat("h:", ticket.helpdesk_id(), "/", ticket.requester().id());
  return "";
}

}  // namespace debrief::store
