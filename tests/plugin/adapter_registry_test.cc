#include <gtest/gtest.h>

#include "debrief/spi/adapter_factory.h"
#include "debrief/spi/status.h"
#include "register.h"

namespace debrief::spi {
namespace {

class NamedFactory final : public TrackerAdapterFactory {
 public:
  explicit NamedFactory(std::string type) : type_(std::move(type)) {}
  std::string type() const override { return type_; }
  absl::StatusOr<std::unique_ptr<TrackerAdapter>> Create(const v1::AdapterConfig&,
                                                         const AdapterContext&) const override {
    return absl::UnimplementedError("not built in this test");
  }

 private:
  std::string type_;
};

// A second factory under a type already taken is an error the registry reports, not a silent
// replacement of the first.
TEST(AdapterRegistry, RegisteringATypeTwiceIsAnError) {
  AdapterRegistry registry;
  adapters::RegisterBuiltinAdapters(registry);
  ASSERT_TRUE(registry.status().ok()) << registry.status();
  const TrackerAdapterFactory* first = registry.tracker("github");
  ASSERT_NE(first, nullptr);
  registry.Add(std::make_unique<NamedFactory>("github"));
  EXPECT_TRUE(absl::IsFailedPrecondition(registry.status())) << registry.status();
  EXPECT_NE(registry.status().message().find("\"github\""), std::string::npos);
  EXPECT_EQ(registry.tracker("github"), first);
}

// Which failures wait and which are final, as every caller reads them.
TEST(SpiStatus, RetryableFailuresAreThoseThatPass) {
  for (const absl::Status& s :
       {absl::UnavailableError("down"), absl::ResourceExhaustedError("rate limited"),
        absl::DeadlineExceededError("slow"), absl::AbortedError("busy")})
    EXPECT_TRUE(IsRetryable(s)) << s;
  for (const absl::Status& s :
       {absl::PermissionDeniedError("scope"), absl::NotFoundError("project"),
        absl::InvalidArgumentError("field"), absl::UnauthenticatedError("token"), absl::OkStatus()})
    EXPECT_FALSE(IsRetryable(s)) << s;
  EXPECT_EQ(RetryAfter(WithRetryAfter(absl::UnavailableError("x"), absl::Seconds(30))),
            absl::Seconds(30));
  EXPECT_EQ(RetryAfter(absl::UnavailableError("x")), std::nullopt);
}

}  // namespace
}  // namespace debrief::spi
