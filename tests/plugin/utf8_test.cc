#include "common/utf8.h"

#include <gtest/gtest.h>

#include "debrief/v1/model.pb.h"

namespace debrief {
namespace {

TEST(Utf8, TellsWellFormedTextFromEverythingElse) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ASCII, long enough to take the eight-byte path"));
  EXPECT_TRUE(IsValidUtf8("Z\xc3\xbcrich \xe2\x82\xac \xf0\x9f\x98\x80"));  // ü € 😀
  EXPECT_FALSE(IsValidUtf8("Z\xfcrich"));                                   // Latin-1
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));                                    // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));                                // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));                            // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("ends in the middle \xe2\x82"));
  EXPECT_FALSE(IsValidUtf8(std::string("\xff", 1)));
}

TEST(Utf8, RepairsEachIllFormedSequenceWithOneReplacementCharacter) {
  EXPECT_EQ(ToValidUtf8("Z\xfcrich"), "Z\xef\xbf\xbdrich");
  EXPECT_EQ(ToValidUtf8("a\xe2\x82z"), "a\xef\xbf\xbdz");  // a truncated sequence is one
  EXPECT_EQ(ToValidUtf8("\xff\xfe"), "\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(ToValidUtf8("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
  EXPECT_TRUE(IsValidUtf8(ToValidUtf8("\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80")));
}

TEST(Utf8, APrefixNeverSplitsACharacter) {
  EXPECT_EQ(Utf8Prefix("h\xc3\xa9llo", 2), "h");
  EXPECT_EQ(Utf8Prefix("h\xc3\xa9llo", 3), "h\xc3\xa9");
  EXPECT_EQ(Utf8Prefix("short", 100), "short");
}

TEST(Utf8, RepairsEveryStringFieldOfAMessageInPlace) {
  v1::TicketEvent e;
  e.mutable_ticket()->set_subject("caf\xe9");
  e.mutable_ticket()->set_body("fine");
  e.mutable_ticket()->add_tags("t\xff");
  e.mutable_ticket()->mutable_requester()->set_name("J\xf6rg");
  EXPECT_EQ(RepairUtf8Fields(e), 3);
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
