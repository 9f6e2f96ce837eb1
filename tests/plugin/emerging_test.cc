#include "classify/emerging.h"

#include <gtest/gtest.h>

#include "absl/strings/ascii.h"

namespace debrief::classify {
namespace {

v1::Ticket T(const std::string& id, const std::string& subject, const std::string& body) {
  v1::Ticket t;
  t.set_helpdesk_id("support");
  t.set_ticket_id(id);
  t.set_subject(subject);
  t.set_body(body);
  return t;
}

TEST(EmergingIssues, GroupsSimilarUnexplainedTicketsAndNamesTheirTerms) {
  EmergingIssues e;
  absl::Time now = absl::FromUnixSeconds(1795000000);
  e.Add(T("1", "Printer driver", "the printer driver will not install on windows"), now);
  e.Add(T("2", "Driver install fails", "printer driver install fails with an error"), now);
  e.Add(T("3", "Printer", "cannot install the printer driver"), now);
  e.Add(T("4", "Holiday hours", "what are your opening hours during the holidays"), now);
  e.Add(T("5", "Hours", "opening hours on public holidays?"), now);
  auto list = e.List(2);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].size(), 3);
  EXPECT_EQ(list[1].size(), 2);
  std::vector<std::string> terms(list[0].top_terms().begin(), list[0].top_terms().end());
  EXPECT_NE(std::find(terms.begin(), terms.end(), "printer"), terms.end());
  EXPECT_NE(std::find(terms.begin(), terms.end(), "driver"), terms.end());
  EXPECT_EQ(list[0].members_size(), 3);
  EXPECT_EQ(list[0].examples(0), "Printer driver");
  EXPECT_TRUE(e.List(4).empty());
}

TEST(EmergingIssues, AGroupHasANameToStartFromItsClosestTicketsAndItsGrowthPerDay) {
  EmergingIssues e;
  const absl::Time day = absl::FromUnixSeconds(1795046400);  // 2026-11-19 00:00 UTC
  e.Add(T("1", "Label printers", "the label printers driver will not install"), day);
  e.Add(T("2", "Driver", "label printers driver install fails with an error"),
        day + absl::Hours(3));
  e.Add(T("3", "Printer", "cannot install the label printers driver"), day + absl::Hours(24));
  e.Add(T("4", "Again", "label printers driver still fails to install, label printers"),
        day + absl::Hours(72));
  auto list = e.List(2);
  ASSERT_EQ(list.size(), 1u);
  const auto& g = list[0];
  // The words as the tickets write them ("printers", not the stem "printer").
  EXPECT_NE(g.suggested_name().find("printers"), std::string::npos) << g.suggested_name();
  EXPECT_TRUE(absl::ascii_isupper(static_cast<unsigned char>(g.suggested_name()[0])))
      << g.suggested_name();
  ASSERT_EQ(g.representatives_size(), 3);
  for (int i = 1; i < g.representatives_size(); ++i)
    EXPECT_GE(g.representatives(i - 1).similarity(), g.representatives(i).similarity());
  EXPECT_FALSE(g.representatives(0).subject().empty());
  ASSERT_EQ(g.growth_size(), 3);  // days with tickets only
  EXPECT_EQ(g.growth(0).day(), "2026-11-19");
  EXPECT_EQ(g.growth(0).tickets(), 2);
  EXPECT_EQ(g.growth(1).day(), "2026-11-20");
  EXPECT_EQ(g.growth(2).day(), "2026-11-22");
  // A member taken out is no representative any more, nor counted in its day.
  e.Remove("support", g.representatives(0).ticket().ticket_id());
  auto after = e.List(2);
  ASSERT_EQ(after.size(), 1u);
  int64_t days_total = 0;
  for (const auto& d : after[0].growth()) days_total += d.tickets();
  EXPECT_EQ(days_total, after[0].size());
  for (const auto& r : after[0].representatives())
    EXPECT_NE(r.ticket().ticket_id(), g.representatives(0).ticket().ticket_id());
}

TEST(EmergingIssues, AddIsIdempotentAndRemoveAndDropForget) {
  EmergingIssues e;
  absl::Time now = absl::FromUnixSeconds(1795000000);
  auto a = T("1", "Printer driver", "printer driver will not install");
  e.Add(a, now);
  e.Add(a, now);  // a reprocessed delivery
  e.Add(T("2", "Printer driver again", "printer driver install fails"), now);
  ASSERT_EQ(e.List(1).size(), 1u);
  EXPECT_EQ(e.List(1)[0].size(), 2);
  e.Remove("support", "1");
  EXPECT_EQ(e.List(1)[0].size(), 1);
  int64_t id = e.List(1)[0].id();
  v1::EmergingIssue got;
  EXPECT_TRUE(e.Get(id, &got));
  e.Drop(id);
  EXPECT_FALSE(e.Get(id, &got));
  EXPECT_TRUE(e.List(1).empty());
  // A dropped cluster's tickets may be added again.
  e.Add(a, now);
  EXPECT_EQ(e.List(1).size(), 1u);
}

// A backfill brings far more unexplained tickets than a cluster remembers: the count goes on,
// memory does not (only the first max_members keep their vectors), and a reprocessed one still
// counts once.
TEST(EmergingIssues, RemembersAtMostMaxMembersAndStillCountsEachTicketOnce) {
  EmergingOptions o;
  o.max_members = 2;
  EmergingIssues e(o);
  absl::Time now = absl::FromUnixSeconds(1795000000);
  for (int i = 0; i < 5; ++i)
    e.Add(T(std::to_string(i), "Holiday hours", "holiday opening hours"), now);
  e.Add(T("4", "Holiday hours", "holiday opening hours"), now);  // reprocessed, past the cap
  ASSERT_EQ(e.List(1).size(), 1u);
  EXPECT_EQ(e.List(1)[0].size(), 5);
  EXPECT_EQ(e.List(1)[0].members_size(), 2) << "members remembered";
  e.Remove("support", "0");  // remembered: taken out
  EXPECT_EQ(e.List(1)[0].size(), 4);
  e.Remove("support", "4");  // counted only: stays counted
  EXPECT_EQ(e.List(1)[0].size(), 4);
}

TEST(EmergingIssues, KeepsAtMostMaxClusters) {
  EmergingOptions o;
  o.max_clusters = 3;
  EmergingIssues e(o);
  absl::Time now = absl::FromUnixSeconds(1795000000);
  const char* topics[] = {"printer driver", "holiday hours", "invoice pdf", "dark mode", "api key"};
  for (int i = 0; i < 5; ++i)
    e.Add(T(std::to_string(i), topics[i], topics[i]), now + absl::Seconds(i));
  EXPECT_EQ(e.List(1).size(), 3u);
}

}  // namespace
}  // namespace debrief::classify
