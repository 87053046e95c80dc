// The clearing-file reader and writer (ledger/clearing_file.h): a file written is read back;
// EBCDIC and the IBM RDW layout; every kind of bad input refused whole or set aside with its
// reason.
#include "ledger/clearing_file.h"

#include <gtest/gtest.h>

namespace ledger::clearing {
namespace {

Message presentment(const std::string& ard, std::int64_t amount, const std::string& function) {
  Message m;
  m.mti = "1240";
  m.set(2, "4000056655665556");
  m.set(3, "000000");
  char t[16];
  std::snprintf(t, sizeof t, "%012lld", static_cast<long long>(amount));
  m.set(4, t);
  m.set(24, function);
  m.set(26, "5812");
  m.set(31, ard);
  m.set(38, "A1B2C3");
  m.set(43, "CORNER BISTRO\\Hauptstr. 1\\Berlin\\10115 BE DEU");
  m.set(49, "978");
  return m;
}

std::string file_of(const std::vector<Message>& records, Charset charset, Framing framing,
                    std::uint64_t count_delta = 0) {
  std::vector<std::string> encoded;
  std::string error;
  Message header;
  header.mti = "1644";
  header.set(24, "697");
  std::string h48;
  add_pds(&h48, "0105", "FILE-1");
  header.set(48, h48);
  std::string out;
  EXPECT_TRUE(encode(header, charset, &out, &error)) << error;
  encoded.push_back(out);
  std::uint64_t sum = 0;
  for (const Message& m : records) {
    EXPECT_TRUE(encode(m, charset, &out, &error)) << error;
    encoded.push_back(out);
    if (m.has(4)) sum += std::stoull(m.get(4));
  }
  Message trailer;
  trailer.mti = "1644";
  trailer.set(24, "695");
  std::string t48;
  char count[16];
  std::snprintf(count, sizeof count, "%08zu", encoded.size() + 1 + count_delta);
  add_pds(&t48, "0306", count);
  char checksum[24];
  std::snprintf(checksum, sizeof checksum, "%016llu", static_cast<unsigned long long>(sum));
  add_pds(&t48, "0301", checksum);
  trailer.set(48, t48);
  EXPECT_TRUE(encode(trailer, charset, &out, &error)) << error;
  encoded.push_back(out);
  return frame(encoded, framing);
}

TEST(ClearingFileTest, WrittenFilesReadBackInEveryCharsetAndFraming) {
  for (const Charset charset : {Charset::ascii, Charset::ebcdic}) {
    for (const Framing framing : {Framing::rdw, Framing::ibm_vb}) {
      const File f = read_file(file_of(
          {presentment("ARD1", 1450, "200"), presentment("ARD2", 300, "282")}, charset, framing));
      ASSERT_TRUE(f.refused.empty()) << f.refused;
      EXPECT_EQ(f.charset, charset);
      EXPECT_EQ(f.framing, framing);
      EXPECT_EQ(f.file_id, "FILE-1");
      ASSERT_EQ(f.records.size(), 2u);
      EXPECT_EQ(f.records[0].kind, RecordKind::first_presentment);
      EXPECT_EQ(f.records[0].amount, 1450u);
      EXPECT_EQ(f.records[0].merchant_name, "CORNER BISTRO");
      EXPECT_EQ(f.records[0].merchant_city, "Berlin");
      EXPECT_EQ(f.records[0].merchant_country, "DEU");
      EXPECT_EQ(f.records[1].kind, RecordKind::second_presentment);
      EXPECT_EQ(f.records[1].merchant_city, "Berlin");
      EXPECT_TRUE(f.records[1].partial);
    }
  }
}

TEST(ClearingFileTest, BrokenFilesAreRefusedWholeWithTheReason) {
  const std::string good =
      file_of({presentment("ARD1", 1450, "200")}, Charset::ascii, Framing::rdw);
  EXPECT_NE(read_file(good.substr(0, good.size() - 3)).refused.find("truncated"),
            std::string::npos);
  EXPECT_NE(read_file(good.substr(0, 2)).refused, "");
  EXPECT_NE(read_file(file_of({presentment("ARD1", 1450, "200")}, Charset::ascii, Framing::rdw, 1))
                .refused.find("PDS 0306"),
            std::string::npos);
  std::string wrong_length = good;
  wrong_length[3] = static_cast<char>(wrong_length[3] + 5);  // the header's RDW says 5 more
  EXPECT_FALSE(read_file(wrong_length).refused.empty());
  std::string zero = good;
  zero[0] = zero[1] = zero[2] = zero[3] = 0;
  EXPECT_FALSE(read_file(zero).refused.empty());
  // No header first.
  std::vector<std::string> only;
  std::string out;
  std::string error;
  ASSERT_TRUE(encode(presentment("A", 1, "200"), Charset::ascii, &out, &error));
  only.push_back(out);
  EXPECT_NE(read_file(frame(only, Framing::rdw)).refused.find("header"), std::string::npos);
}

TEST(ClearingFileTest, UnusableRecordsAreSetAsideWithTheirReason) {
  Message unknown_function = presentment("ARD3", 100, "201");
  Message bad_currency = presentment("ARD4", 100, "200");
  bad_currency.set(49, "999");
  Message other_mti = presentment("ARD5", 100, "200");
  other_mti.mti = "1740";
  Message no_card = presentment("ARD6", 100, "200");
  no_card.present[2] = false;
  const File f = read_file(
      file_of({unknown_function, bad_currency, other_mti, no_card}, Charset::ascii, Framing::rdw));
  ASSERT_TRUE(f.refused.empty()) << f.refused;
  ASSERT_EQ(f.records.size(), 4u);
  EXPECT_NE(f.records[0].set_aside.find("function code 201"), std::string::npos);
  EXPECT_NE(f.records[1].set_aside.find("ISO 4217"), std::string::npos);
  EXPECT_NE(f.records[2].set_aside.find("MTI 1740"), std::string::npos);
  EXPECT_NE(f.records[3].set_aside.find("DE2"), std::string::npos);
}

TEST(ClearingFileTest, ReversalsByFunctionCodeOrPds0025) {
  Message by_pds = presentment("ARD7", 100, "200");
  std::string de48;
  add_pds(&de48, "0025", "R261207");
  by_pds.set(48, de48);
  const File f =
      read_file(file_of({by_pds, presentment("ARD8", 100, "400")}, Charset::ascii, Framing::rdw));
  ASSERT_TRUE(f.refused.empty()) << f.refused;
  EXPECT_EQ(f.records[0].kind, RecordKind::presentment_reversal);
  EXPECT_EQ(f.records[1].kind, RecordKind::presentment_reversal);
  EXPECT_TRUE(is_credit(f.records[0]));
}

TEST(ClearingFileTest, WrittenWholeFilesAddUp) {
  Message refund = presentment("ARD9", 250, "200");
  refund.set(3, "200000");
  Message chargeback = presentment("ARD1", 100, "450");
  chargeback.mti = "1442";
  for (const Charset charset : {Charset::ascii, Charset::ebcdic}) {
    std::string bytes;
    std::string error;
    ASSERT_TRUE(write_file("F-2", "261207", {presentment("ARD1", 1450, "200"), refund, chargeback},
                           charset, Framing::rdw, &bytes, &error))
        << error;
    const File f = read_file(bytes);
    ASSERT_TRUE(f.refused.empty()) << f.refused;
    EXPECT_EQ(f.file_id, "F-2");
    EXPECT_EQ(f.trailer.messages, 5u);
    EXPECT_EQ(f.trailer.debits, 1u);
    EXPECT_EQ(f.trailer.credits, 2u);
    EXPECT_EQ(f.trailer.debits_amount, 1450u);
    EXPECT_EQ(f.trailer.credits_amount, 350u);
    EXPECT_EQ(f.records[2].kind, RecordKind::chargeback);
  }
  Message bad = presentment("ARD1", 1, "200");
  bad.set(3, "12");  // n6
  std::string bytes;
  std::string error;
  EXPECT_FALSE(write_file("F-3", "261207", {bad}, Charset::ascii, Framing::rdw, &bytes, &error));
  EXPECT_NE(error.find("DE3"), std::string::npos);
}

// A file with the trailer given (the header and records as written by file_of).
std::string file_with_trailer(const std::vector<Message>& records, const Message& trailer) {
  std::vector<std::string> encoded;
  std::string out;
  std::string error;
  Message header;
  header.mti = "1644";
  header.set(24, "697");
  EXPECT_TRUE(encode(header, Charset::ascii, &out, &error)) << error;
  encoded.push_back(out);
  for (const Message& m : records) {
    EXPECT_TRUE(encode(m, Charset::ascii, &out, &error)) << error;
    encoded.push_back(out);
  }
  EXPECT_TRUE(encode(trailer, Charset::ascii, &out, &error)) << error;
  encoded.push_back(out);
  return frame(encoded, Framing::rdw);
}

TEST(ClearingFileTest, MerchantsInTheCardNetworkLayoutToo) {
  Message m = presentment("ARD1", 100, "200");
  m.set(43, "CORNER BISTRO            BERLIN       DE");  // name 25, city 13, country 2
  const File f = read_file(file_of({m}, Charset::ascii, Framing::rdw));
  ASSERT_TRUE(f.refused.empty()) << f.refused;
  EXPECT_EQ(f.records[0].merchant_name, "CORNER BISTRO");
  EXPECT_EQ(f.records[0].merchant_city, "BERLIN");
  EXPECT_EQ(f.records[0].merchant_country, "DE");
}

TEST(ClearingFileTest, TrailersAreCheckedForWhatTheyState) {
  Message usd = presentment("ARD1", 1085, "200");
  usd.set(5, "000000001000");  // reconciled in EUR
  usd.set(50, "978");
  usd.set(49, "840");
  const std::vector<Message> records{usd, presentment("ARD2", 500, "200")};
  Message trailer;
  trailer.mti = "1644";
  trailer.set(24, "695");
  trailer.set(76, "0000000002");
  // Debits in reconciliation amounts (1000 + 500) or in transaction amounts (1085 + 500).
  trailer.set(88, "0000000000001500");
  EXPECT_TRUE(read_file(file_with_trailer(records, trailer)).refused.empty());
  trailer.set(88, "0000000000001585");
  EXPECT_TRUE(read_file(file_with_trailer(records, trailer)).refused.empty());
  trailer.set(88, "0000000000001586");
  EXPECT_NE(read_file(file_with_trailer(records, trailer)).refused.find("DE88"), std::string::npos);
  // Amounts alone are no count: refused.
  Message amounts_only;
  amounts_only.mti = "1644";
  amounts_only.set(24, "695");
  amounts_only.set(88, "0000000000001500");
  EXPECT_NE(read_file(file_with_trailer(records, amounts_only)).refused.find("no message count"),
            std::string::npos);
  // PDS 0306: every message (4), or the records between header and trailer (2); not 3.
  for (const char* count : {"00000004", "00000002", "00000003"}) {
    Message counted;
    counted.mti = "1644";
    counted.set(24, "695");
    std::string de48;
    add_pds(&de48, "0306", count);
    counted.set(48, de48);
    EXPECT_EQ(read_file(file_with_trailer(records, counted)).refused.empty(),
              std::string(count) != "00000003")
        << count;
  }
}

}  // namespace
}  // namespace ledger::clearing
