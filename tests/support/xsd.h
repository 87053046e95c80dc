// Validates an XML document against an XML Schema with libxml2: what a clearing system does
// to a file ledgerd writes. The schemas are in tests/schemas (the ISO 20022 message
// definitions of the elements ledgerd writes).
#pragma once

#include <string>
#include <string_view>

namespace ledger::testing {

// "" when `xml` is valid against the schema file tests/schemas/<schema>; else libxml2's
// messages (line and reason), one per line.
std::string xsd_errors(std::string_view xml, const std::string& schema);

}  // namespace ledger::testing
