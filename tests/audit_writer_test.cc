// The audit writer against the real PostgreSQL started by scripts/test: no row stops the
// trail, nothing queued is lost by a graceful stop without a word.
#include "journal/audit_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>

#include "journal/migrator.h"
#include "journal/pg.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;
using testing::query_rows;
using testing::query_value;

class AuditWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = testing::create_database("audit");
    pg::Conn conn;
    ASSERT_TRUE(pg::connect(url_, &conn).ok());
    std::vector<MigrationFile> files;
    ASSERT_TRUE(load_migrations(testing::migrations_dir(), &files).ok());
    MigrationReport report;
    ASSERT_TRUE(apply_migrations(conn.get(), files, &report).ok());
  }

  static AuditEntry entry(const std::string& detail, int status = 201) {
    return AuditEntry{0,      "",    "key:k1", "ops", "POST /v1/accounts", "/v1/accounts", status,
                      detail, false, "",       ""};
  }

  std::string url_;
};

TEST_F(AuditWriterTest, ARowPostgresRefusesIsSetAsideEscapedAndTheTrailGoesOn) {
  AuditWriter writer(url_, 1'000);
  writer.start();
  ASSERT_TRUE(writer.record(entry("idempotency_key=before")));
  ASSERT_TRUE(writer.record(entry("idempotency_key=bad-\xff\xfe-utf8")));  // refused: not UTF-8
  ASSERT_TRUE(writer.record(entry("idempotency_key=nul-\0-inside"s)));     // libpq would cut it
  ASSERT_TRUE(writer.record(entry("idempotency_key=after")));
  for (int i = 0; i < 100 && writer.written() + writer.set_aside() < 4; ++i)
    std::this_thread::sleep_for(50ms);
  writer.stop();
  EXPECT_EQ(writer.written(), 2u);
  EXPECT_EQ(writer.set_aside(), 2u);
  EXPECT_EQ(writer.lost(), 0u);
  const auto rows = query_rows(url_, "SELECT detail, set_aside FROM audit_log ORDER BY id");
  ASSERT_EQ(rows.size(), 4u);
  // Rows go in batches; a set-aside row is written after the rest of its batch.
  std::vector<std::vector<std::string>> expected = {{"idempotency_key=before", "f"},
                                                    {"idempotency_key=after", "f"},
                                                    {"idempotency_key=bad-\\xff\\xfe-utf8", "t"},
                                                    {"idempotency_key=nul-\\x00-inside", "t"}};
  std::sort(expected.begin(), expected.end());
  auto sorted = rows;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected);
  // And later entries still go in: the trail did not stop.
  AuditWriter again(url_, 1'000);
  again.start();
  ASSERT_TRUE(again.record(entry("idempotency_key=later")));
  again.stop();
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM audit_log WHERE detail LIKE '%later'"), "1");
}

TEST_F(AuditWriterTest, EntriesQueuedAtAGracefulStopAreAllWritten) {
  AuditWriter writer(url_, 100'000);
  writer.start();
  for (int i = 0; i < 20'000; ++i) ASSERT_TRUE(writer.record(entry("n=" + std::to_string(i))));
  writer.stop();  // at once: most are still queued
  EXPECT_EQ(writer.written(), 20'000u);
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM audit_log"), "20000");
  EXPECT_FALSE(writer.record(entry("after stop")));  // refused and counted, not lost silently
  EXPECT_EQ(writer.dropped(), 1u);
}

TEST_F(AuditWriterTest, APostgresProblemNotAboutTheRowIsRetriedNotSetAside) {
  testing::exec_sql(url_, "ALTER TABLE audit_log RENAME TO audit_log_away");
  AuditWriter writer(url_, 1'000);
  writer.start();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer.record(entry("n=" + std::to_string(i))));
  for (int i = 0; i < 100 && writer.failures() < 2; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_GE(writer.failures(), 2u);  // undefined_table (42P01): retried with backoff
  testing::exec_sql(url_, "ALTER TABLE audit_log_away RENAME TO audit_log");
  for (int i = 0; i < 100 && writer.written() < 10; ++i) std::this_thread::sleep_for(50ms);
  writer.stop();
  EXPECT_EQ(writer.written(), 10u);
  EXPECT_EQ(writer.set_aside(), 0u);
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM audit_log WHERE NOT set_aside"), "10");
}

TEST_F(AuditWriterTest, WithoutPostgresAStopGivesUpInBoundedTimeAndCountsWhatItLogged) {
  // Nothing listens on port 1: every connection attempt fails at once.
  AuditWriter writer("postgresql://ledger@127.0.0.1:1/ledger?connect_timeout=1", 1'000, 300ms);
  writer.start();
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(writer.record(entry("n=" + std::to_string(i))));
  const auto started = std::chrono::steady_clock::now();
  writer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
  EXPECT_EQ(writer.written(), 0u);
  EXPECT_EQ(writer.lost(), 25u);  // each one logged as event=audit_entry_unwritten
}

}  // namespace
}  // namespace ledger
