#include "journal/copy_codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace ledger::copy {
namespace {

// PostgreSQL sends one row per CopyData message; the first also carries the header.
std::vector<std::string> as_messages(const std::string& header_and_rows, std::size_t header_bytes,
                                     const std::vector<std::size_t>& row_bytes) {
  std::vector<std::string> messages;
  std::size_t offset = 0;
  for (std::size_t i = 0; i < row_bytes.size(); ++i) {
    const std::size_t take = row_bytes[i] + (i == 0 ? header_bytes : 0);
    messages.push_back(header_and_rows.substr(offset, take));
    offset += take;
  }
  messages.push_back(header_and_rows.substr(offset));  // trailer
  return messages;
}

TEST(CopyCodecTest, TransferRowsRoundTripIncludingExtremes) {
  Transfer a;
  a.id.value = {0xFFFFFFFFFFFFFFFFULL, 1};
  a.timestamp = 1'700'000'000'000'000'000ULL;
  a.debit_account_id.value = {1, 2};
  a.credit_account_id.value = {3, 4};
  a.amount = std::numeric_limits<std::int64_t>::max();
  a.amount_effective = std::numeric_limits<std::int64_t>::max();
  a.currency = *currency_from_alpha("JPY");
  a.flags = flag_pending | flag_linked;
  a.code = TransferCode::card_authorization;
  a.timeout_s = std::numeric_limits<std::uint32_t>::max();
  a.reference_a = std::numeric_limits<std::uint64_t>::max();
  a.reference_b = 0;
  a.reference_32 = std::numeric_limits<std::uint32_t>::max();
  Transfer b;  // a rejection with no accounts, no currency, a pending id
  b.id.value = {9, 9};
  b.timestamp = 5;
  b.pending_id.value = {7, 7};
  b.flags = flag_void_pending;
  b.result = TransferResult::pending_not_found;

  std::string data;
  begin(&data);
  const std::size_t header = data.size();
  append_transfer(a, &data);
  const std::size_t row_a = data.size() - header;
  append_transfer(b, &data);
  const std::size_t row_b = data.size() - header - row_a;
  end(&data);

  const auto messages = as_messages(data, header, {row_a, row_b});
  Reader reader;
  ASSERT_TRUE(reader.begin(messages[0]).ok());
  Transfer out;
  Status error;
  ASSERT_TRUE(reader.next_transfer(&out, &error));
  EXPECT_EQ(out.id, a.id);
  EXPECT_EQ(out.timestamp, a.timestamp);
  EXPECT_EQ(out.debit_account_id, a.debit_account_id);
  EXPECT_EQ(out.credit_account_id, a.credit_account_id);
  EXPECT_TRUE(out.pending_id.is_zero());
  EXPECT_EQ(out.amount, a.amount);
  EXPECT_EQ(out.amount_effective, a.amount_effective);
  EXPECT_EQ(out.code, a.code);
  EXPECT_EQ(out.reference_a, a.reference_a);
  EXPECT_EQ(out.reference_32, a.reference_32);
  EXPECT_EQ(out.timeout_s, a.timeout_s);
  EXPECT_EQ(out.currency, a.currency);
  EXPECT_EQ(out.flags, a.flags);
  EXPECT_FALSE(reader.next_transfer(&out, &error));  // end of this message
  EXPECT_TRUE(error.ok());
  reader.feed(messages[1]);
  ASSERT_TRUE(reader.next_transfer(&out, &error));
  EXPECT_EQ(out.id, b.id);
  EXPECT_EQ(out.pending_id, b.pending_id);
  EXPECT_TRUE(out.debit_account_id.is_zero());
  EXPECT_EQ(out.currency.code, 0u);
  EXPECT_EQ(out.result, TransferResult::pending_not_found);
  reader.feed(messages[2]);
  EXPECT_FALSE(reader.next_transfer(&out, &error));  // trailer
  EXPECT_TRUE(error.ok());
}

TEST(CopyCodecTest, AccountRowsRoundTrip) {
  Account a;
  a.timestamp = 77;
  a.created_timestamp = 70;
  a.id.value = {1, 1};
  a.holder_id.value = {2, 2};
  a.currency = *currency_from_alpha("KWD");
  a.kind = AccountKind::settlement;
  a.flags = credits_must_not_exceed_debits;
  a.overdraft_limit = 500;
  a.overdraft_limit_created = 100;
  a.reference = std::numeric_limits<std::uint64_t>::max();
  a.status = AccountStatus::frozen;
  std::string data;
  begin(&data);
  append_account(a, &data);
  end(&data);
  Reader reader;
  ASSERT_TRUE(reader.begin(data).ok());
  Account out;
  Status error;
  ASSERT_TRUE(reader.next_account(&out, &error));
  EXPECT_EQ(out.id, a.id);
  EXPECT_EQ(out.holder_id, a.holder_id);
  EXPECT_EQ(out.currency, a.currency);
  EXPECT_EQ(out.kind, a.kind);
  EXPECT_EQ(out.flags, a.flags);
  EXPECT_EQ(out.overdraft_limit, 500);
  EXPECT_EQ(out.overdraft_limit_created, 100);
  EXPECT_EQ(out.reference, a.reference);
  EXPECT_EQ(out.status, AccountStatus::frozen);
  EXPECT_EQ(out.timestamp, 77u);
  EXPECT_EQ(out.created_timestamp, 70u);
  EXPECT_FALSE(reader.next_account(&out, &error));
  EXPECT_TRUE(error.ok());
}

TEST(CopyCodecTest, RejectsMalformedData) {
  Reader reader;
  EXPECT_FALSE(reader.begin("not a copy").ok());
  std::string data;
  begin(&data);
  Transfer t;
  append_transfer(t, &data);
  data.resize(data.size() - 5);  // truncated row
  ASSERT_TRUE(reader.begin(data).ok());
  Transfer out;
  Status error;
  EXPECT_FALSE(reader.next_transfer(&out, &error));
  EXPECT_FALSE(error.ok());
  std::string wrong;
  begin(&wrong);
  Account a;
  append_account(a, &wrong);
  ASSERT_TRUE(reader.begin(wrong).ok());
  EXPECT_FALSE(reader.next_transfer(&out, &error));  // 11 fields where 15 are expected
  EXPECT_NE(error.message().find("fields"), std::string::npos);
}

}  // namespace
}  // namespace ledger::copy
