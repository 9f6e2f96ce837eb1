#include "base/log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"

namespace debrief::base::log {
namespace {

constexpr int64_t kAt = 1796558400123;  // 2026-12-06T12:00:00.123Z

class Log : public ::testing::Test {
 protected:
  void TearDown() override {
    SetFormat(Format::kText);
    SetLevel(Level::kInfo);
    SetSinkForTest(nullptr);
  }
};

TEST_F(Log, TextIsOneLineWithTimeLevelComponentAndIds) {
  SetFormat(Format::kText);
  EXPECT_EQ(FormatLine(Level::kWarning, "pipeline", "delivery failed; will retry",
                       {{"delivery", "42"}, {"error", "UNAVAILABLE: the store is busy"}}, kAt),
            "2026-12-06T12:00:00.123Z warning pipeline: delivery failed; will retry delivery=42 "
            "error=\"UNAVAILABLE: the store is busy\"");
  // Line breaks and control characters cannot forge a second line.
  EXPECT_EQ(FormatLine(Level::kInfo, "api", "a\nb\r\x01", {{"ticket", "x\ny"}}, kAt),
            "2026-12-06T12:00:00.123Z info api: a b   ticket=\"x\\ny\"");
}

TEST_F(Log, JsonIsOneObjectPerLineThatParses) {
  SetFormat(Format::kJson);
  const std::string line =
      FormatLine(Level::kError, "ingress", "quote \" backslash \\ tab \t nul-ish \x02",
                 {{"helpdesk", "support"}, {"ticket", "1001"}, {"bytes", "\xff\xfe ok"}}, kAt);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "2026-12-06T12:00:00.123Z");
  EXPECT_EQ(j["level"], "error");
  EXPECT_EQ(j["component"], "ingress");
  EXPECT_EQ(j["msg"], "quote \" backslash \\ tab \t nul-ish \x02");
  EXPECT_EQ(j["helpdesk"], "support");
  EXPECT_EQ(j["ticket"], "1001");
  // Bytes that are not UTF-8 are replaced, so the line stays valid JSON.
  EXPECT_TRUE(absl::EndsWith(j["bytes"].get<std::string>(), " ok"));
}

TEST_F(Log, BelowTheLevelNothingIsWritten) {
  std::vector<std::string> lines;
  SetSinkForTest([&](absl::string_view l) { lines.emplace_back(l); });
  SetLevel(Level::kWarning);
  Info("loop", "not written");
  Debug("loop", "not written");
  Warning("loop", "written", {{"task", "7"}});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(absl::EndsWith(lines[0], "warning loop: written task=7")) << lines[0];
}

TEST_F(Log, LevelsAndFormatsAreNamedInTheConfig) {
  EXPECT_EQ(*ParseLevel(""), Level::kInfo);
  EXPECT_EQ(*ParseFormat("json"), Format::kJson);
  EXPECT_EQ(*ParseFormat(""), Format::kText);
  EXPECT_EQ(ParseFormat("xml").status().message(), "log.format: \"xml\" is not one of text, json");
}

}  // namespace
}  // namespace debrief::base::log
