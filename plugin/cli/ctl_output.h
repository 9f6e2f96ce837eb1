#pragma once

// How debriefctl prints an answer: for a person at a terminal, tables and key-value lines with
// times in the local zone; for scripts (a pipe, or -o json), Protobuf JSON with the .proto's
// field names, unchanged from one release to the next.
#include <string>
#include <vector>

#include "google/protobuf/message.h"

namespace debrief::cli {

enum class Output { kAuto, kTable, kJson };

// Set once from -o/--output; kAuto means a table when standard output is a terminal.
void SetOutput(Output o);
// True when answers are printed for a person.
bool ForPeople();

// Columns aligned by the widest cell (counted in characters, not bytes), two spaces apart;
// cells longer than `max_cell` characters are cut with an ellipsis.
class Table {
 public:
  explicit Table(std::vector<std::string> headers, size_t max_cell = 60);
  void Row(std::vector<std::string> cells);
  bool empty() const { return rows_.empty(); }
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  size_t max_cell_;
};

// The answer as a person reads it, for the messages debriefctl has a layout for; "" for the
// others (they are printed as JSON).
std::string Readable(const google::protobuf::Message& m);

}  // namespace debrief::cli
