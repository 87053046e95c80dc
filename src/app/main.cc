// ledgerd: the ledger server. Subcommands: serve (default), migrate; --help, --version.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "app/config.h"
#include "app/keys.h"
#include "app/logging.h"
#include "app/serve.h"
#include "app/simulate.h"

int main(int argc, char** argv) {
  using namespace ledger::app;
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "simulate") {  // the card simulator: a client, no server
    return run_simulate(std::vector<std::string>(args.begin() + 1, args.end()));
  }
  Config config;
  const auto env = [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
  if (ledger::Status s = parse_config(args, env, LEDGER_DEFAULT_MIGRATIONS_DIR, &config); !s.ok()) {
    print_error(s.message() + " (see ledgerd --help)");
    return exit_usage;
  }
  if (config.command == Subcommand::help) {
    std::fputs(usage_text().c_str(), stdout);
    return exit_ok;
  }
  if (config.command == Subcommand::version) {
    std::printf("ledgerd %s\n", LEDGERD_VERSION);
    return exit_ok;
  }
  try {
    if (config.command == Subcommand::keys_create) {
      // The key goes to stdout alone; logs go to stderr so that `KEY=$(ledgerd keys create)` works.
      setup_logging(config.log_level, /*to_stderr=*/true);
      return run_keys_create(config);
    }
    setup_logging(config.log_level);
    return config.command == Subcommand::migrate ? run_migrate(config) : run_serve(config);
  } catch (const std::exception& error) {
    print_error(std::string("fatal: ") + error.what());
    return exit_failure;
  }
}
