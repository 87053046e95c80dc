// The ledgerd binary's command line and its start-up failures: each bad input gives one clear
// line on stderr and a non-zero exit, never a crash or a hang.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <filesystem>

#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using testing::Env;
using testing::run_ledgerd;
using testing::RunResult;

constexpr int timeout_ms = 30'000;

void expect_one_clear_line(const RunResult& result, const std::string& needle) {
  EXPECT_FALSE(result.timed_out);
  EXPECT_GT(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(needle), std::string::npos) << "stderr: " << result.err;
  EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << "stderr: " << result.err;
  EXPECT_EQ(result.err.rfind("ledgerd: ", 0), 0u) << result.err;
  EXPECT_EQ(result.err.find("terminate called"), std::string::npos);
}

Env good_env() {
  return {{"LEDGER_DATABASE_URL", testing::create_database("cli")},
          {"LEDGER_MIGRATIONS_DIR", testing::migrations_dir()},
          {"LEDGER_HTTP_LISTEN", "127.0.0.1:0"},
          {"LEDGER_ISO8583_LISTEN", "127.0.0.1:0"}};
}

TEST(CliTest, HelpAndVersionExitZero) {
  const RunResult help = run_ledgerd({"--help"}, {}, timeout_ms);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("LEDGER_DATABASE_URL"), std::string::npos);
  const RunResult version = run_ledgerd({"--version"}, {}, timeout_ms);
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("ledgerd ", 0), 0u);
}

TEST(CliTest, UnknownFlag) {
  const RunResult result = run_ledgerd({"serve", "--bogus", "1"}, {}, timeout_ms);
  expect_one_clear_line(result, "unknown flag --bogus");
  EXPECT_EQ(result.exit_code, 2);
}

TEST(CliTest, UnknownCommand) {
  expect_one_clear_line(run_ledgerd({"launch"}, {}, timeout_ms), "unknown command");
}

TEST(CliTest, BadSettingValue) {
  expect_one_clear_line(run_ledgerd({"--http-listen", "127.0.0.1:99999"}, {}, timeout_ms),
                        "--http-listen");
  expect_one_clear_line(run_ledgerd({}, {{"LEDGER_LOG_LEVEL", "loud"}}, timeout_ms),
                        "LEDGER_LOG_LEVEL");
}

TEST(CliTest, MalformedDatabaseUrl) {
  Env env = good_env();
  env["LEDGER_DATABASE_URL"] = "postgresql://[::1:5432/x";
  const RunResult result = run_ledgerd({"serve"}, env, timeout_ms);
  expect_one_clear_line(result, "malformed database URL");
  EXPECT_EQ(result.exit_code, 2);
}

// libpq's parse errors quote the piece they stop at, and a password with an unencoded '@' is
// partly read as the host name: neither may reach stdout or stderr.
TEST(CliTest, MalformedDatabaseUrlsNeverShowThePassword) {
  for (const auto& [url, secret] : std::vector<std::pair<std::string, std::string>>{
           {"postgresql://ledger:s3cret%pw@127.0.0.1:1/ledger", "s3cret"},
           {"postgresql://ledger:s3c@ret-pw@127.0.0.1:1/ledger", "ret-pw"},
           {"postgresql://ledger:s3c/ret@127.0.0.1:1/ledger", "ret@"},
           {"host=127.0.0.1 port=1 password=s3cret pw", "s3cret"}}) {
    Env env = good_env();
    env["LEDGER_DATABASE_URL"] = url;
    for (const char* command : {"serve", "migrate"}) {
      const RunResult result = run_ledgerd({command}, env, timeout_ms);
      expect_one_clear_line(result, "malformed database URL");
      EXPECT_EQ(result.exit_code, 2) << url;
      EXPECT_EQ(result.out.find(secret), std::string::npos) << result.out;
      EXPECT_EQ(result.err.find(secret), std::string::npos) << result.err;
    }
  }
}

TEST(CliTest, MissingDatabaseUrl) {
  Env env = good_env();
  env.erase("LEDGER_DATABASE_URL");
  expect_one_clear_line(run_ledgerd({"serve"}, env, timeout_ms), "LEDGER_DATABASE_URL");
}

TEST(CliTest, UnreachableDatabase) {
  Env env = good_env();
  env["LEDGER_DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/ledger";
  const RunResult result = run_ledgerd({"serve"}, env, timeout_ms);
  expect_one_clear_line(result, "cannot connect to database");
  EXPECT_EQ(result.exit_code, 1);
}

TEST(CliTest, PortAlreadyInUse) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  Env env = good_env();
  env["LEDGER_HTTP_LISTEN"] = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  const RunResult result = run_ledgerd({"serve"}, env, timeout_ms);
  expect_one_clear_line(result, "cannot listen on");
  EXPECT_NE(result.err.find("in use"), std::string::npos) << result.err;
  EXPECT_EQ(result.exit_code, 1);
}

TEST(CliTest, MissingMigrationsFolder) {
  Env env = good_env();
  env["LEDGER_MIGRATIONS_DIR"] = "/nonexistent/migrations";
  const RunResult result = run_ledgerd({"serve"}, env, timeout_ms);
  expect_one_clear_line(result, "migrations folder not found: /nonexistent/migrations");
  EXPECT_EQ(result.exit_code, 1);
}

TEST(CliTest, MigrateSubcommandIsIdempotent) {
  Env env = good_env();
  env["LEDGER_DATABASE_URL"] = testing::create_empty_database("cli");
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(testing::migrations_dir())) {
    if (entry.path().extension() == ".sql") ++files;
  }
  const RunResult first = run_ledgerd({"migrate"}, env, timeout_ms);
  ASSERT_EQ(first.exit_code, 0) << first.err << first.out;
  EXPECT_NE(first.out.find("applied_now=" + std::to_string(files)), std::string::npos) << first.out;
  const RunResult second = run_ledgerd({"migrate"}, env, timeout_ms);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("applied_now=0"), std::string::npos) << second.out;
}

TEST(CliTest, LogsEffectiveConfigurationWithoutThePassword) {
  Env env = good_env();
  env["LEDGER_DATABASE_URL"] = "postgresql://postgres:s3cret-pw@127.0.0.1:1/ledger";
  const RunResult result = run_ledgerd({"serve"}, env, timeout_ms);
  EXPECT_NE(result.out.find("event=starting"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("http_listen=127.0.0.1:0"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("s3cret-pw"), std::string::npos);
  EXPECT_EQ(result.err.find("s3cret-pw"), std::string::npos);
}

}  // namespace
}  // namespace ledger
