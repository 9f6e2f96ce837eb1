// ObjectTexts (simdjson's fast check) must give exactly the full parser's verdict and texts:
// on hand-written edge cases and on mutations of the vendors' own webhook bodies.
#include "common/json_util.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

namespace debrief::adapters {
namespace {

// The reference: a full parse, then each pointer's value through TextOf.
absl::StatusOr<std::vector<std::string>> Reference(const std::string& body,
                                                   std::initializer_list<absl::string_view> ptrs) {
  auto doc = ParseObject(body, "the body");
  if (!doc.ok()) return doc.status();
  std::vector<std::string> out;
  for (absl::string_view p : ptrs) {
    json::json_pointer jp{std::string(p)};
    out.push_back(doc->contains(jp) ? TextOf((*doc)[jp]) : "");
  }
  return out;
}

void ExpectSame(const std::string& body, std::initializer_list<absl::string_view> ptrs) {
  auto fast = ObjectTexts(body, ptrs, "the body");
  auto ref = Reference(body, ptrs);
  ASSERT_EQ(fast.ok(), ref.ok()) << "body: " << body << "\nfast: " << fast.status()
                                 << "\nref: " << ref.status();
  if (fast.ok()) {
    EXPECT_EQ(*fast, *ref) << "body: " << body;
  } else {
    EXPECT_EQ(fast.status(), ref.status()) << "body: " << body;
  }
}

TEST(ObjectTexts, ReadsTextsAndRefusesWhatIsNotOneJsonObject) {
  auto t = ObjectTexts(R"({"ticket": {"id": 42, "key": "a/b", "vip": true, "none": null}})",
                       {"/ticket/id", "/ticket/key", "/ticket/vip", "/ticket/none", "/missing"},
                       "the body");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, (std::vector<std::string>{"42", "a/b", "true", "", ""}));
  EXPECT_EQ(ObjectTexts("[1, 2]", {"/0"}, "the body").status().message(),
            "the body is not a JSON object");
  EXPECT_EQ(ObjectTexts(R"({"a": 1,})", {"/a"}, "the body").status().message(),
            "the body is not valid JSON");
}

TEST(ObjectTexts, AgreesWithTheFullParserOnEdgeCases) {
  const char* cases[] = {
      R"({})",
      R"({"id": "x"})",
      R"(  {"id" : "x"}  )",
      "\xEF\xBB\xBF{\"id\": \"bom\"}",
      R"({"id": 18446744073709551615})",            // beyond int64
      R"({"id": 123456789012345678901234567890})",  // beyond 64 bits
      R"({"id": -9223372036854775808})",
      R"({"id": 1.5})",
      R"({"id": 1e3})",
      R"({"id": -0})",
      R"({"id": 01})",
      R"({"id": .5})",
      R"({"id": NaN})",
      R"({"id": "\ud800"})",  // a lone surrogate
      R"({"id": "\ud83d\ude00"})",
      R"({"id": "\u0000"})",
      "{\"id\": \"a\tb\"}",      // a raw control character
      "{\"id\": \"\xC3\x28\"}",  // invalid UTF-8
      "{\"id\": \"\xF0\x9F\x98\x80\"}",
      R"({"id": "x", "id": "y"})",  // a duplicate key
      R"({"id": "x"} {"id": "y"})",
      R"({"id": "x"}])",
      R"({"id": "x")",
      R"({"id": [1, {"a": 2}]})",
      R"({"a": {"b": {"c": {"d": [[[[]]]]}}}})",
      R"({"ticket": [1, 2]})",
      R"({"ticket": {"id": {"nested": 1}}})",
      R"({"ticket": {"id": false}})",
      R"(// comment
{"id": 1})",
      "",
      "null",
      R"("text")",
      "{\"id\": \"x\"}\n",
  };
  for (const char* body : cases) {
    SCOPED_TRACE(body);
    ExpectSame(body, {"/id", "/ticket/id", "/ticket/0", "/a/b/c/d/0"});
  }
}

TEST(ObjectTexts, AgreesWithTheFullParserOnMutatedVendorBodies) {
  std::vector<std::string> bodies;
  for (const auto& e : std::filesystem::recursive_directory_iterator(
           std::string(DEBRIEF_SOURCE_DIR) + "/tests/adapters/helpdesk")) {
    if (e.path().extension() != ".json") continue;
    std::ifstream in(e.path());
    std::stringstream ss;
    ss << in.rdbuf();
    bodies.push_back(ss.str());
  }
  ASSERT_GE(bodies.size(), 10u);
  const char alphabet[] = "{}[]\",:\\ 0123456789.-+eEtruefalsnul\x01\x7f\xc3\xa9\xff";
  std::mt19937 rng(20261123);
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string b = bodies[rng() % bodies.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int k = 0; k < edits && !b.empty(); ++k) {
      const size_t at = rng() % b.size();
      const char c = alphabet[rng() % (sizeof(alphabet) - 1)];
      switch (rng() % 3) {
        case 0:
          b[at] = c;
          break;
        case 1:
          b.erase(at, 1);
          break;
        default:
          b.insert(at, 1, c);
      }
    }
    std::initializer_list<absl::string_view> ptrs = {"/id", "/ticket_id", "/ticket/id",
                                                     "/detail/id", "/freshdesk_webhook/ticket_id"};
    auto fast = ObjectTexts(b, ptrs, "the body");
    auto ref = Reference(b, ptrs);
    refused += !ref.ok();
    ASSERT_EQ(fast.ok(), ref.ok()) << "mutant " << i << ": " << b;
    if (fast.ok()) ASSERT_EQ(*fast, *ref) << "mutant " << i << ": " << b;
  }
  // The mutations reach both verdicts.
  EXPECT_GT(refused, 1000);
  EXPECT_LT(refused, 19000);
}

}  // namespace
}  // namespace debrief::adapters
