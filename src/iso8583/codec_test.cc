#include "iso8583/codec.h"

#include <gtest/gtest.h>

namespace ledger::iso8583 {
namespace {

Message plain_authorization() {
  Message m;
  m.mti = "0100";
  m.set(2, "4111111111111111");
  m.set(3, "000000");
  m.set(4, "000000001234");
  m.set(7, "1123120000");
  m.set(11, "000042");
  m.set(14, "2812");
  m.set(18, "5411");
  m.set(22, "071");
  m.set(32, "123456");
  m.set(37, "RRN000000042");
  m.set(41, "TERM0001");
  std::string location = "CORNER SHOP BERLIN DE";
  location.resize(40, ' ');
  m.set(43, location);
  m.set(49, "978");
  return m;
}

std::string encode_ok(const Message& m, BitmapEncoding e = BitmapEncoding::binary) {
  std::string body;
  std::string error;
  EXPECT_TRUE(encode(m, e, &body, &error)) << error;
  return body;
}

TEST(Iso8583CodecTest, EncodesAfterARoomForTheLengthHeader) {
  const Message m = plain_authorization();
  std::string frame = "left over from an earlier answer";
  std::string error;
  ASSERT_TRUE(encode(m, BitmapEncoding::binary, &frame, &error, 2)) << error;
  ASSERT_GT(frame.size(), 2u);
  EXPECT_EQ(frame.substr(0, 2), std::string(2, '\0'));
  EXPECT_EQ(frame.substr(2), encode_ok(m));
}

// decode() into a Message that held another one leaves nothing of it (it clears only the
// fields that were present, keeping their storage).
TEST(Iso8583CodecTest, DecodingIntoAUsedMessageLeavesNothingOfTheOldOne) {
  Message first = plain_authorization();
  first.set(102, "1234567890");
  Message second = plain_authorization();
  second.mti = "0200";
  second.clear(4);
  second.clear(43);
  Message into;
  DecodeError error;
  ASSERT_TRUE(decode(encode_ok(first), BitmapEncoding::binary, &into, &error)) << error.reason;
  ASSERT_TRUE(into.has(43) && into.has(102) && into.has(4));
  ASSERT_TRUE(decode(encode_ok(second), BitmapEncoding::binary, &into, &error)) << error.reason;
  EXPECT_EQ(into.mti, "0200");
  for (int field : {4, 43, 102}) {
    EXPECT_FALSE(into.has(field)) << field;
    EXPECT_TRUE(into.get(field).empty()) << field;
  }
  EXPECT_EQ(into.get(2), second.get(2));
  // A frame that does not decode keeps no field of the message before it either.
  ASSERT_TRUE(decode(encode_ok(first), BitmapEncoding::binary, &into, &error));
  EXPECT_FALSE(decode("01", BitmapEncoding::binary, &into, &error));
  EXPECT_FALSE(into.has(2));
  EXPECT_TRUE(into.get(43).empty());
}

TEST(Iso8583CodecTest, RoundTripsWithABinaryBitmap) {
  const Message m = plain_authorization();
  const std::string body = encode_ok(m);
  EXPECT_EQ(body.substr(0, 4), "0100");
  // DE2, DE3, DE4, DE7 -> first byte 0111 0010 = 0x72
  EXPECT_EQ(static_cast<unsigned char>(body[4]), 0x72);
  EXPECT_EQ(body.substr(12, 2), "16");  // LLVAR length of DE2
  Message out;
  DecodeError error;
  ASSERT_TRUE(decode(body, BitmapEncoding::binary, &out, &error))
      << error.field << " " << error.reason;
  EXPECT_EQ(out.mti, "0100");
  for (int f = 2; f <= 128; ++f) {
    EXPECT_EQ(out.has(f), m.has(f)) << f;
    if (m.has(f)) {
      EXPECT_EQ(out.get(f), m.get(f)) << f;
    }
  }
  EXPECT_FALSE(out.present[1]);
}

TEST(Iso8583CodecTest, RoundTripsWithAnAsciiHexBitmapAndASecondaryBitmap) {
  Message m = plain_authorization();
  m.set(70, "301");
  m.set(90, std::string(42, '0'));
  m.set(95, std::string(42, '0'));
  const std::string body = encode_ok(m, BitmapEncoding::ascii_hex);
  EXPECT_EQ(body.substr(4, 2), "F2");  // secondary present + DE2, DE3, DE4, DE7
  Message out;
  DecodeError error;
  ASSERT_TRUE(decode(body, BitmapEncoding::ascii_hex, &out, &error)) << error.reason;
  EXPECT_TRUE(out.present[1]);
  EXPECT_EQ(out.get(70), "301");
  EXPECT_EQ(out.get(90), std::string(42, '0'));
}

TEST(Iso8583CodecTest, AnAllZeroSecondaryBitmapIsValid) {
  Message m;
  m.mti = "0800";
  std::string body = "0800";
  body += std::string("\x82\x20\x00\x00\x00\x00\x00\x00", 8);  // DE1, DE7, DE11
  body += std::string(8, '\0');                                // secondary, all zero
  body += "1123120000000001";
  Message out;
  DecodeError error;
  ASSERT_TRUE(decode(body, BitmapEncoding::binary, &out, &error)) << error.reason;
  EXPECT_EQ(out.get(11), "000001");
}

TEST(Iso8583CodecTest, RejectsMalformedInputNamingTheField) {
  const std::string good = encode_ok(plain_authorization());
  Message out;
  DecodeError error;
  EXPECT_FALSE(decode("01", BitmapEncoding::binary, &out, &error));
  EXPECT_EQ(error.field, 0);
  EXPECT_FALSE(decode("01X0" + good.substr(4), BitmapEncoding::binary, &out, &error));  // MTI
  EXPECT_FALSE(decode(good.substr(0, 8), BitmapEncoding::binary, &out, &error));  // bitmap cut
  EXPECT_EQ(out.mti, "0100");
  EXPECT_FALSE(decode(good.substr(0, good.size() - 3), BitmapEncoding::binary, &out, &error));
  EXPECT_EQ(error.field, 49);
  EXPECT_EQ(out.get(11), "000042");  // decoded before the failure: a 30 answer can echo it
  std::string letters = good;
  letters[letters.find("000000001234")] = 'A';  // letter in DE4
  EXPECT_FALSE(decode(letters, BitmapEncoding::binary, &out, &error));
  EXPECT_EQ(error.field, 4);
  std::string long_pan = good;
  long_pan.replace(12, 2, "25");  // DE2 LLVAR length above 19
  EXPECT_FALSE(decode(long_pan, BitmapEncoding::binary, &out, &error));
  EXPECT_EQ(error.field, 2);
  EXPECT_NE(error.reason.find("maximum 19"), std::string::npos);
  EXPECT_FALSE(decode(good + "X", BitmapEncoding::binary, &out, &error));  // trailing bytes
  std::string hex_bitmap = encode_ok(plain_authorization(), BitmapEncoding::ascii_hex);
  hex_bitmap[6] = 'Z';
  EXPECT_FALSE(decode(hex_bitmap, BitmapEncoding::ascii_hex, &out, &error));
  EXPECT_NE(error.reason.find("bitmap"), std::string::npos);
}

// A field with wrong content but a known extent is left out and decoding reads on, so an
// answer can still echo DE11 and the others; a broken length prefix stops it there.
TEST(Iso8583CodecTest, ReadsOnPastAFieldWithWrongContent) {
  std::string body = encode_ok(plain_authorization());
  body[body.find("000000001234")] = 'A';  // DE4 (n 12) with a letter
  Message m;
  DecodeError error;
  EXPECT_FALSE(decode(body, BitmapEncoding::binary, &m, &error));
  EXPECT_EQ(error.field, 4);
  EXPECT_FALSE(m.has(4));
  EXPECT_EQ(m.get(11), "000042");  // after it, still read
  EXPECT_EQ(m.get(49), "978");
  std::string prefix = encode_ok(plain_authorization());
  prefix[prefix.find("06123456")] = 'X';  // DE32's length digits
  EXPECT_FALSE(decode(prefix, BitmapEncoding::binary, &m, &error));
  EXPECT_EQ(error.field, 32);
  EXPECT_EQ(m.get(11), "000042");  // before it
  EXPECT_FALSE(m.has(37));         // after it: the extent of the rest is unknown
}

TEST(Iso8583CodecTest, EncodeRefusesInvalidFields) {
  Message m = plain_authorization();
  m.set(4, "12");  // must be 12 digits
  std::string body;
  std::string error;
  EXPECT_FALSE(encode(m, BitmapEncoding::binary, &body, &error));
  EXPECT_NE(error.find("DE4"), std::string::npos);
  m = plain_authorization();
  m.set(39, "0");
  EXPECT_FALSE(encode(m, BitmapEncoding::binary, &body, &error));
  m = plain_authorization();
  m.mti = "01A0";
  EXPECT_FALSE(encode(m, BitmapEncoding::binary, &body, &error));
}

TEST(Iso8583CodecTest, FieldFormatsFollowTheAsciiPackager) {
  std::string reason;
  EXPECT_TRUE(valid_field(28, "C00000150", &reason));
  EXPECT_FALSE(valid_field(28, "X00000150", &reason));
  EXPECT_TRUE(valid_field(35, "4111111111111111=28121010000000000", &reason));
  EXPECT_TRUE(valid_field(52, "0123456789ABCDEF", &reason));
  EXPECT_FALSE(valid_field(52, "0123456789ABCDEG", &reason));
  EXPECT_TRUE(valid_field(54, "0001978C000000001000", &reason));
  EXPECT_FALSE(valid_field(41, "TERM\x01\x02\x03\x04", &reason));
}

}  // namespace
}  // namespace ledger::iso8583
