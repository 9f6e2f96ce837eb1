#pragma once

// gMock doubles of every SPI interface, for unit tests only. The product never uses them.
#include <gmock/gmock.h>

#include <filesystem>
#include <random>

#include "debrief/spi/helpdesk_adapter.h"
#include "debrief/spi/http_client.h"
#include "debrief/spi/store.h"
#include "debrief/spi/tracker_adapter.h"
#include "mocks/fake_clock.h"

namespace debrief::testing {

class MockHttpClient : public spi::HttpClient {
 public:
  MOCK_METHOD(absl::StatusOr<spi::HttpResponse>, Send, (const spi::HttpRequest&), (override));
};

class MockHelpdeskAdapter : public spi::HelpdeskAdapter {
 public:
  MOCK_METHOD(const std::string&, id, (), (const, override));
  MOCK_METHOD(const std::string&, type, (), (const, override));
  MOCK_METHOD(absl::StatusOr<spi::AcceptedDelivery>, Accept, (const spi::InboundDelivery&),
              (const, override));
  MOCK_METHOD(absl::StatusOr<spi::NormalizeResult>, Normalize, (const spi::InboundDelivery&),
              (const, override));
  MOCK_METHOD(absl::Status, WriteBack,
              (const v1::Ticket&, const v1::Classification&, const v1::ImprovementTask*),
              (override));
  MOCK_METHOD(absl::Status, PostNote, (const v1::Ticket&, const spi::TicketNote&), (override));
  MOCK_METHOD((absl::StatusOr<std::map<std::string, std::string>>), SignDelivery,
              (absl::string_view, absl::Time), (const, override));
  MOCK_METHOD(absl::Status, Check, (), (override));
};

class MockTrackerAdapter : public spi::TrackerAdapter {
 public:
  MOCK_METHOD(const std::string&, id, (), (const, override));
  MOCK_METHOD(const std::string&, type, (), (const, override));
  MOCK_METHOD(absl::StatusOr<spi::TrackerTask>, CreateTask, (const spi::TaskDraft&), (override));
  MOCK_METHOD(absl::Status, UpdateTask, (const std::string&, const spi::TaskUpdate&), (override));
  MOCK_METHOD(absl::StatusOr<spi::TrackerTask>, GetTask, (const std::string&), (override));
  MOCK_METHOD(absl::Status, Check, (const std::vector<v1::Category>&), (override));
};

// A fresh folder under the test's temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("debrief-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A named value the store keeps (cursors table), "" when there is none.
inline std::string ReadCursor(spi::Store& store, const std::string& name) {
  std::string value;
  absl::Status s = store.Read([&](spi::StoreTransaction& tx) -> absl::Status {
    auto v = tx.GetCursor(name);
    if (!v.ok()) return v.status();
    value = v->value_or("");
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return value;
}

}  // namespace debrief::testing
