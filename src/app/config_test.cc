#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "app/serve.h"

namespace ledger::app {
namespace {

struct Parsed {
  Status status;
  Config config;
};

Parsed parse(const std::vector<std::string>& args, std::map<std::string, std::string> env = {}) {
  Parsed parsed;
  parsed.status = parse_config(
      args,
      [&env](const std::string& name) -> std::optional<std::string> {
        const auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
      },
      "/default/migrations", &parsed.config);
  return parsed;
}

std::string write_temp(const std::string& text) {
  const std::string path = "/tmp/ledgerd-config-test-" + std::to_string(getpid()) + ".conf";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsAreServeOnLoopback) {
  const Parsed p = parse({});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.command, Subcommand::serve);
  EXPECT_EQ(p.config.http_listen.text(), "127.0.0.1:8080");
  EXPECT_EQ(p.config.iso8583_listen.text(), "127.0.0.1:8583");
  EXPECT_EQ(p.config.log_level, "info");
  EXPECT_EQ(p.config.migrations_dir, "/default/migrations");
  EXPECT_EQ(p.config.io_threads, 1u);
}

TEST(ConfigTest, FlagsBeatEnvironmentBeatsFile) {
  const std::string file = write_temp(
      "# comment\nLEDGER_LOG_LEVEL = debug\nLEDGER_HTTP_LISTEN=127.0.0.1:1000\n"
      "LEDGER_ISO8583_LISTEN=127.0.0.1:2000\n");
  const Parsed p = parse(
      {"serve", "--config", file, "--http-listen=127.0.0.1:3000"},
      {{"LEDGER_HTTP_LISTEN", "127.0.0.1:4000"}, {"LEDGER_ISO8583_LISTEN", "127.0.0.1:5000"}});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.http_listen.port, 3000);     // flag
  EXPECT_EQ(p.config.iso8583_listen.port, 5000);  // environment
  EXPECT_EQ(p.config.log_level, "debug");         // file
}

TEST(ConfigTest, ConfigFileFromEnvironment) {
  const std::string file = write_temp("LEDGER_DATABASE_URL=postgresql://u@h:1/d\n");
  const Parsed p = parse({"migrate"}, {{"LEDGER_CONFIG", file}});
  ASSERT_TRUE(p.status.ok());
  EXPECT_EQ(p.config.command, Subcommand::migrate);
  EXPECT_EQ(p.config.database_url, "postgresql://u@h:1/d");
}

TEST(ConfigTest, FileErrorsNameTheLine) {
  const std::string file = write_temp("LEDGER_LOG_LEVEL=info\nLEDGER_NOPE=1\n");
  const Parsed p = parse({"--config", file});
  ASSERT_FALSE(p.status.ok());
  EXPECT_NE(p.status.message().find(":2: unknown setting LEDGER_NOPE"), std::string::npos)
      << p.status.message();
  const Parsed missing = parse({"--config", "/nonexistent.conf"});
  EXPECT_NE(missing.status.message().find("cannot read config file"), std::string::npos);
}

TEST(ConfigTest, RejectsUnknownFlagsAndCommands) {
  EXPECT_EQ(parse({"--bogus=1"}).status.message(), "unknown flag --bogus");
  EXPECT_EQ(parse({"--log-level"}).status.message(), "flag --log-level needs a value");
  EXPECT_NE(parse({"launch"}).status.message().find("unknown command"), std::string::npos);
  EXPECT_NE(parse({"serve", "migrate"}).status.message().find("unexpected argument"),
            std::string::npos);
}

TEST(ConfigTest, RejectsBadValuesNamingTheSource) {
  EXPECT_NE(parse({"--log-level", "loud"}).status.message().find("--log-level"), std::string::npos);
  EXPECT_NE(parse({}, {{"LEDGER_IO_THREADS", "0"}}).status.message().find("LEDGER_IO_THREADS"),
            std::string::npos);
  EXPECT_FALSE(parse({"--io-threads", "2x"}).status.ok());
}

TEST(ConfigTest, ParsesEndpoints) {
  Endpoint e;
  ASSERT_TRUE(parse_endpoint("[::1]:8080", &e).ok());
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.text(), "[::1]:8080");
  ASSERT_TRUE(parse_endpoint("localhost:0", &e).ok());
  EXPECT_EQ(e.host, "127.0.0.1");
  for (const char* bad : {"", "8080", ":8080", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:-1",
                          "::1:8080", "[::1]8080", "127.0.0.1:80a"}) {
    EXPECT_FALSE(parse_endpoint(bad, &e).ok()) << bad;
  }
}

TEST(ServeOptionsTest, TheConfigurationBecomesEachPartsOptionsBeforeAnythingStarts) {
  const Parsed p = parse({"--http-listen", "[::1]:3000", "--iso8583-listen", "127.0.0.1:0",
                          "--http-allowlist", "127.0.0.1,::1", "--auth-deadline-ms", "900",
                          "--dd-wait-hours", "72", "--rate-limit-per-key", "50"});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  std::string error;
  const auto o = options_from(p.config, &error);
  ASSERT_TRUE(o) << error;
  EXPECT_EQ(o->http_endpoint.address().to_string(), "::1");
  EXPECT_EQ(o->http_endpoint.port(), 3000);
  EXPECT_EQ(o->iso_endpoint.port(), 0);
  EXPECT_EQ(o->http.allowlist.size(), 2u);
  EXPECT_EQ(o->iso.deadline, std::chrono::milliseconds(900));
  EXPECT_EQ(o->api.direct_debit_policy.wait_ns, 72ULL * 3600 * 1'000'000'000);
  EXPECT_EQ(o->api.rate_per_key, 50.0);
  EXPECT_EQ(o->api.burst_per_key, 50.0);  // the burst defaults to the rate
  EXPECT_EQ(o->pipeline.database_url, p.config.database_url);
  EXPECT_EQ(o->dispatcher.database_url, p.config.database_url);
  EXPECT_FALSE(o->http.tls);  // made by run_serve from the files, not here
}

TEST(ServeOptionsTest, SettingsThatCannotServeAreRefusedNamingTheSetting) {
  std::string error;
  Parsed p = parse({"--tls-cert", "/etc/ssl/cert.pem"});
  ASSERT_TRUE(p.status.ok());
  EXPECT_FALSE(options_from(p.config, &error));
  EXPECT_EQ(error, "--tls-cert and --tls-key go together");
  p = parse({});
  p.config.http_listen.host = "example.org";  // only an IP address is listened on
  EXPECT_FALSE(options_from(p.config, &error));
  EXPECT_EQ(error, "--http-listen: \"example.org\" is not an IP address");
  p = parse({});
  p.config.iso8583_allowlist = "10.0.0.1,nope";
  EXPECT_FALSE(options_from(p.config, &error));
  EXPECT_EQ(error, "--iso8583-allowlist: \"nope\" is not an IP address");
}

TEST(ConfigTest, HelpAndVersion) {
  EXPECT_EQ(parse({"--help"}).config.command, Subcommand::help);
  EXPECT_EQ(parse({"serve", "-h"}).config.command, Subcommand::help);
  EXPECT_EQ(parse({"--version"}).config.command, Subcommand::version);
  EXPECT_NE(usage_text().find("LEDGER_ISO8583_LISTEN"), std::string::npos);
}

TEST(ConfigTest, DescribeNeverShowsSecrets) {
  const Parsed p = parse({"--database-url", "postgresql://u:hunter2pw@h/d", "--pan-secret",
                          "0123456789abcdef0123456789abcdef-pan"});
  ASSERT_TRUE(p.status.ok()) << p.status.message();
  EXPECT_EQ(p.config.describe().find("hunter2pw"), std::string::npos);
  EXPECT_EQ(p.config.describe().find("0123456789abcdef"), std::string::npos);
  EXPECT_NE(p.config.describe().find("pan_secret=set"), std::string::npos);
  EXPECT_FALSE(parse({"--pan-secret", "short"}).status.ok());
}

}  // namespace
}  // namespace ledger::app
