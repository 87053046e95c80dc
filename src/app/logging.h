#pragma once

#include <string>

namespace ledger::app {
// One structured line per event on stdout: "ts=... level=... event=... key=value ...".
void setup_logging(const std::string& level, bool to_stderr = false);
// Prints "ledgerd: <message>" as one line on stderr (start-up failures, bad input).
void print_error(const std::string& message);
}  // namespace ledger::app
