#pragma once

// How debriefctl prints an answer: for a person at a terminal, tables and key-value lines with
// times as people say them ("3 h ago"; absolute local times with -o wide) and colour (never
// with NO_COLOR set or through a pipe); for scripts (a pipe, -o json or -o yaml), the Protobuf
// JSON mapping with the .proto's field names, unchanged from one release to the next.
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace debrief::cli {

enum class Output { kAuto, kTable, kWide, kJson, kYaml };

// Set once from -o/--output; kAuto means a table when standard output is a terminal.
void SetOutput(Output o);
Output GetOutput();
// True when answers are printed for a person (a table, wide or not).
bool ForPeople();

// What a person's output depends on besides the answer, fixed by tests: the time "ago" is
// counted from (default: now), the time zone (default: local), and colour (default: standard
// output is a terminal, NO_COLOR unset, TERM not "dumb").
void SetClockForTest(absl::Time now, absl::TimeZone zone);
void SetColour(bool on);

// A table cell, optionally coloured (an ANSI SGR code such as "32" for green) when colour is on.
struct Cell {
  Cell(std::string t) : text(std::move(t)) {}  // NOLINT: cells are written as plain strings
  Cell(const char* t) : text(t) {}             // NOLINT
  Cell(std::string t, const char* c) : text(std::move(t)), colour(c) {}
  std::string text;
  const char* colour = nullptr;
};

// Columns aligned by the widest cell (counted in characters, not bytes), two spaces apart;
// cells longer than `max_cell` characters are cut with an ellipsis. `wide` headers name extra
// columns after the others, shown with -o wide only (a row gives their cells last).
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::vector<std::string> wide = {},
                 size_t max_cell = 60);
  void Row(std::vector<Cell> cells);
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  size_t narrow_;  // how many columns without -o wide
  std::vector<std::vector<Cell>> rows_;
  size_t max_cell_;
};

// The answer as a person reads it, for the messages debriefctl has a layout for; "" for the
// others (they are printed as JSON).
std::string Readable(const google::protobuf::Message& m);

// The answer for scripts: Protobuf JSON (field names as in the .proto), or the same as YAML.
std::string Json(const google::protobuf::Message& m);
std::string Yaml(const google::protobuf::Message& m);

}  // namespace debrief::cli
