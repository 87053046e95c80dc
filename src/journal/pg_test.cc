// Database URLs as logged and refused: never a password, whatever the URL looks like.
#include "journal/pg.h"

#include <gtest/gtest.h>

namespace ledger::pg {
namespace {

void expect_refused_without(const std::string& url, const std::string& secret) {
  const Status status = validate_url(url);
  ASSERT_FALSE(status.ok()) << url;
  EXPECT_EQ(status.message().find(secret), std::string::npos) << status.message();
  EXPECT_EQ(describe_url(url), "(malformed)");
}

TEST(PgUrlTest, ParseErrorsDoNotEchoThePassword) {
  expect_refused_without("postgresql://ledger:secret%pw@db.internal/ledger", "secret");
  expect_refused_without("postgresql://ledger:secret%zz@db.internal/ledger", "secret");
  expect_refused_without("host=db user=ledger password=my secret dbname=ledger", "secret");
  expect_refused_without("postgresql://ledger:pw@db/ledger?sslmode=secret%", "secret");
}

TEST(PgUrlTest, AnUnencodedAtOrSlashInThePasswordIsRefusedNotReadAsTheHost) {
  expect_refused_without("postgresql://ledger:p@zzw0rd@db.internal:5432/ledger", "zzw0rd");
  expect_refused_without("postgres://ledger:p@ss@db.internal/ledger", "ss@db");
  expect_refused_without("postgresql://ledger:pa/ss@db.internal/ledger", "ss@db");
}

TEST(PgUrlTest, GoodUrlsAreDescribedWithoutThePassword) {
  for (const std::string url : {"postgresql://ledger:s3cr%40t@db.internal:5433/ledger",
                                "postgresql://ledger:s3cr%2Ft@[::1]:5433/ledger?sslmode=require",
                                "host=db.internal port=5433 user=ledger password=s3cr@t "
                                "dbname=ledger"}) {
    ASSERT_TRUE(validate_url(url).ok()) << url;
    const std::string described = describe_url(url);
    EXPECT_EQ(described.find("s3cr"), std::string::npos) << described;
    EXPECT_NE(described.find("port=5433"), std::string::npos) << described;
    EXPECT_NE(described.find("user=ledger"), std::string::npos) << described;
  }
  EXPECT_TRUE(validate_url("postgresql:///ledger?host=/run/postgresql").ok());
  EXPECT_TRUE(validate_url("postgresql://db.internal/ledger?user=a@b").ok());  // in the query
}

}  // namespace
}  // namespace ledger::pg
