#include "base/utf8.h"

#include <gtest/gtest.h>

#include "debrief/v1/model.pb.h"

namespace debrief {
namespace {

TEST(Utf8, TellsWellFormedTextFromEverythingElse) {
  EXPECT_TRUE(base::IsValidUtf8(""));
  EXPECT_TRUE(base::IsValidUtf8("plain ASCII, long enough to take the eight-byte path"));
  EXPECT_TRUE(base::IsValidUtf8("Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80"));  // ü € 😀
  EXPECT_FALSE(base::IsValidUtf8("Z\xfcrich"));                                   // Latin-1
  EXPECT_FALSE(base::IsValidUtf8("\xc0\xaf"));                                    // overlong '/'
  EXPECT_FALSE(base::IsValidUtf8("\xed\xa0\x80"));                                // a surrogate
  EXPECT_FALSE(base::IsValidUtf8("\xf4\x90\x80\x80"));                            // past U+10FFFF
  EXPECT_FALSE(base::IsValidUtf8("ends in the middle \xe2\x82"));
  EXPECT_FALSE(base::IsValidUtf8(std::string("\xff", 1)));
}

TEST(Utf8, RepairsEachIllFormedSequenceWithOneReplacementCharacter) {
  EXPECT_EQ(base::ToValidUtf8("Z\xfcrich"), "Z\xef\xbf\xbdrich");
  EXPECT_EQ(base::ToValidUtf8("a\xe2\x82z"), "a\xef\xbf\xbdz");  // a truncated sequence is one
  EXPECT_EQ(base::ToValidUtf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(base::ToValidUtf8("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
  EXPECT_TRUE(base::IsValidUtf8(base::ToValidUtf8("\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80")));
}

TEST(Utf8, APrefixNeverSplitsACharacter) {
  EXPECT_EQ(base::Utf8Prefix("h\xc3\xa9llo", 2), "h");
  EXPECT_EQ(base::Utf8Prefix("h\xc3\xa9llo", 3), "h\xc3\xa9");
  EXPECT_EQ(base::Utf8Prefix("short", 100), "short");
}

TEST(Utf8, RepairsEveryStringFieldOfAMessageInPlace) {
  v1::TicketEvent e;
  e.mutable_ticket()->set_subject("caf\xe9");
  e.mutable_ticket()->set_body("fine");
  e.mutable_ticket()->add_tags("t\xff");
  e.mutable_ticket()->mutable_requester()->set_name("J\xf6rg");
  EXPECT_EQ(base::RepairUtf8Fields(e), 3);
  EXPECT_EQ(e.ticket().subject(), "caf\xef\xbf\xbd");
  EXPECT_EQ(e.ticket().body(), "fine");
  EXPECT_EQ(e.ticket().tags(0), "t\xef\xbf\xbd");
  std::string wire;
  ASSERT_TRUE(e.SerializeToString(&wire));
  v1::TicketEvent back;
  EXPECT_TRUE(back.ParseFromString(wire));  // what Protobuf refused before the repair
}

}  // namespace
}  // namespace debrief
