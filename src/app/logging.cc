#include "app/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

namespace ledger::app {

void setup_logging(const std::string& level, bool to_stderr) {
  auto logger =
      to_stderr ? spdlog::stderr_logger_mt("ledgerd") : spdlog::stdout_logger_mt("ledgerd");
  logger->set_pattern("ts=%Y-%m-%dT%H:%M:%S.%fZ level=%l %v", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

void print_error(const std::string& message) {
  std::string line = message;
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::fprintf(stderr, "ledgerd: %s\n", line.c_str());
  std::fflush(stderr);
}

}  // namespace ledger::app
