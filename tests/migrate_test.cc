// The migration runner against the real PostgreSQL started by scripts/test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "journal/migrator.h"
#include "journal/pg.h"
#include "support/process.h"
#include "support/test_db.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;
using testing::create_empty_database;
using testing::query_value;

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = create_empty_database("migrate");
    ASSERT_TRUE(pg::connect(url_, &conn_).ok());
    dir_ = fs::temp_directory_path() /
           ("ledger-migrations-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& sql) { std::ofstream(dir_ / name) << sql; }
  Status apply(MigrationReport* report) {
    std::vector<MigrationFile> files;
    if (Status s = load_migrations(dir_.string(), &files); !s.ok()) return s;
    return apply_migrations(conn_.get(), files, report);
  }

  std::string url_;
  pg::Conn conn_;
  fs::path dir_;
};

TEST_F(MigrateTest, AppliesTheProjectMigrationsToAFreshDatabase) {
  std::vector<MigrationFile> files;
  ASSERT_TRUE(load_migrations(testing::migrations_dir(), &files).ok());
  MigrationReport report;
  const Status status = apply_migrations(conn_.get(), files, &report);
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(report.applied_now, static_cast<int>(files.size()));
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM schema_migrations"),
            std::to_string(files.size()));
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM ledger_instance"), "1");
}

TEST_F(MigrateTest, RerunIsANoOp) {
  write("0001_a.sql", "CREATE TABLE a (x int);");
  write("0002_b.sql", "CREATE TABLE b (x int); INSERT INTO b VALUES (1);");
  MigrationReport report;
  ASSERT_TRUE(apply(&report).ok());
  EXPECT_EQ(report.applied_now, 2);
  ASSERT_TRUE(apply(&report).ok());
  EXPECT_EQ(report.applied_now, 0);
  EXPECT_EQ(report.already_applied, 2);
  EXPECT_EQ(report.latest_version, 2);
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM b"), "1");
}

TEST_F(MigrateTest, AppliesOnlyTheNewOnesInOrder) {
  write("0001_a.sql", "CREATE TABLE a (x int);");
  MigrationReport report;
  ASSERT_TRUE(apply(&report).ok());
  write("0003_c.sql", "INSERT INTO a VALUES (3);");
  write("0002_b.sql", "ALTER TABLE a ADD COLUMN y int NOT NULL DEFAULT 2;");
  ASSERT_TRUE(apply(&report).ok());
  EXPECT_EQ(report.applied_now, 2);
  EXPECT_EQ(query_value(url_, "SELECT y FROM a"), "2");
}

TEST_F(MigrateTest, TamperedFileIsAnErrorNamingTheFile) {
  write("0001_a.sql", "CREATE TABLE a (x int);");
  MigrationReport report;
  ASSERT_TRUE(apply(&report).ok());
  write("0001_a.sql", "CREATE TABLE a (x bigint);");
  const Status status = apply(&report);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("0001_a.sql"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("changed"), std::string::npos) << status.message();
}

TEST_F(MigrateTest, AppliedMigrationWithoutFileIsAnError) {
  write("0001_a.sql", "CREATE TABLE a (x int);");
  write("0002_b.sql", "CREATE TABLE b (x int);");
  MigrationReport report;
  ASSERT_TRUE(apply(&report).ok());
  fs::remove(dir_ / "0002_b.sql");
  const Status status = apply(&report);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("0002_b.sql"), std::string::npos) << status.message();
}

TEST_F(MigrateTest, FailingMigrationRollsBackAndNamesTheFile) {
  write("0001_a.sql", "CREATE TABLE a (x int);");
  write("0002_bad.sql", "CREATE TABLE half (x int); SELECT no_such_column FROM a;");
  MigrationReport report;
  const Status status = apply(&report);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("0002_bad.sql"), std::string::npos) << status.message();
  EXPECT_EQ(query_value(url_, "SELECT count(*) FROM schema_migrations"), "1");
  EXPECT_EQ(query_value(url_, "SELECT to_regclass('half') IS NULL"), "t");
}

TEST_F(MigrateTest, RejectsBadFileNamesDuplicatesAndEmptyFiles) {
  std::vector<MigrationFile> files;
  write("1_short.sql", "SELECT 1;");
  EXPECT_NE(load_migrations(dir_.string(), &files).message().find("NNNN_name.sql"),
            std::string::npos);
  fs::remove(dir_ / "1_short.sql");
  write("0001_a.sql", "SELECT 1;");
  write("0001_b.sql", "SELECT 1;");
  EXPECT_NE(load_migrations(dir_.string(), &files).message().find("share version 1"),
            std::string::npos);
  fs::remove(dir_ / "0001_b.sql");
  write("0002_empty.sql", "");
  EXPECT_NE(load_migrations(dir_.string(), &files).message().find("empty"), std::string::npos);
}

TEST_F(MigrateTest, MissingFolderIsAnError) {
  std::vector<MigrationFile> files;
  const Status status = load_migrations((dir_ / "nope").string(), &files);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("migrations folder not found"), std::string::npos);
}

// The migrated databases the other tests get are copies of a template scripts/test migrated
// once: each must be what migrating an empty database gives (every migration, the same
// checksums) and a ledger instance of its own.
TEST(TestDatabaseTest, EachCopyIsFullyMigratedWithAnInstanceOfItsOwn) {
  const std::string a = testing::create_database("copy");
  const std::string b = testing::create_database("copy");
  const std::string fresh = create_empty_database("copy");
  std::vector<MigrationFile> files;
  ASSERT_TRUE(load_migrations(testing::migrations_dir(), &files).ok());
  pg::Conn conn;
  ASSERT_TRUE(pg::connect(fresh, &conn).ok());
  MigrationReport report;
  ASSERT_TRUE(apply_migrations(conn.get(), files, &report).ok());
  const std::string applied =
      "SELECT string_agg(version || ':' || checksum, ',' ORDER BY version) FROM schema_migrations";
  for (const std::string& copy : {a, b}) {
    EXPECT_EQ(query_value(copy, applied), query_value(fresh, applied));
    EXPECT_EQ(query_value(copy, "SELECT count(*) FROM ledger_instance"), "1");
  }
  const std::string instance = "SELECT instance_id::text FROM ledger_instance";
  EXPECT_NE(query_value(a, instance), query_value(b, instance));
  EXPECT_NE(query_value(a, instance), query_value(fresh, instance));
}

TEST(Sha256Test, MatchesKnownDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace ledger
