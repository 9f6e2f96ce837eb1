#include "loop/report.h"

#include <gtest/gtest.h>

#include "base/time_util.h"
#include "base/utf8.h"
#include "mocks/spi_mocks.h"
#include "store/sqlite_store.h"

namespace debrief::loop {
namespace {

// A quote is cut where text without spaces (Japanese, say) runs past its length: between
// characters, never inside one. A cut inside one once put bytes that are not UTF-8 into the
// task's text, which the tracker's JSON cannot carry.
TEST(Report, AQuoteOfTextWithoutSpacesStaysUtf8) {
  testing::TempDir dir;
  testing::FakeClock clock;
  auto store = store::OpenSqliteStore({.path = dir.file("d.db")}, clock);
  ASSERT_TRUE(store.ok()) << store.status();
  v1::ImprovementTask task;
  task.set_category_id("billing");
  task.set_tracker_id("tasks");
  task.set_title("Double charges");
  task.set_status(v1::TASK_OPEN);
  std::string body;
  while (body.size() < 1000) body += "\xe8\xab\x8b\xe6\xb1\x82\xe3\x81\x8c";  // 請求が
  ASSERT_TRUE((*store)
                  ->Transact([&](spi::StoreTransaction& tx) -> absl::Status {
                    auto id = tx.InsertTask(task);
                    if (!id.ok()) return id.status();
                    task.set_id(*id);
                    spi::TicketRecord rec;
                    rec.ticket.set_helpdesk_id("support");
                    rec.ticket.set_ticket_id("1");
                    rec.ticket.set_body(body);
                    rec.first_seen = clock.Now();
                    if (auto s = tx.PutTicket(rec); !s.ok()) return s;
                    v1::TaskLink link;
                    link.set_helpdesk_id("support");
                    link.set_ticket_id("1");
                    link.set_task_id(*id);
                    return tx.PutLink(link);
                  })
                  .ok());
  v1::LoopConfig loop;
  loop.set_quotes(3);
  absl::StatusOr<TaskReport> report = absl::UnknownError("not built");
  ASSERT_TRUE((*store)
                  ->Read([&](spi::StoreTransaction& tx) {
                    report = BuildReport(tx, task, nullptr, loop, clock.Now());
                    return report.status();
                  })
                  .ok())
      << report.status();
  EXPECT_NE(report->impact.find("\xe8\xab\x8b"), std::string::npos) << report->impact;
  EXPECT_TRUE(base::IsValidUtf8(report->impact)) << report->impact;
  EXPECT_TRUE(base::IsValidUtf8(report->description));
}

}  // namespace
}  // namespace debrief::loop
