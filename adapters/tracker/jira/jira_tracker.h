#pragma once

#include <string>

#include "common/json_util.h"
#include "debrief/spi/adapter_factory.h"

namespace debrief::adapters::jira {

// Registers the `jira` tracker type (Jira Cloud REST API v3).
void RegisterJira(spi::AdapterRegistry& registry);

// Jira v3 wants rich text as Atlassian Document Format. Debrief's task text is plain Markdown
// of a few kinds of line ("### heading", "- item", "> quote", paragraphs, bare URLs), turned
// into the matching ADF nodes.
json MarkdownToAdf(const std::string& markdown);
// The text of an ADF node and its children, paragraphs on their own lines.
std::string AdfText(const json& node);

}  // namespace debrief::adapters::jira
