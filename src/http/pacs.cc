#include "http/pacs.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "ledger/ids.h"
#include "ledger/limits.h"
#include "ledger/parse.h"
#include "ledger/sepa.h"
#include "ledger/units.h"

namespace ledger::http::pacs {
namespace {

using nlohmann::json;

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};

bool named(const xmlNode* node, const char* name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE &&
         std::strcmp(reinterpret_cast<const char*>(node->name), name) == 0;
}

const xmlNode* child(const xmlNode* node, const char* name) {
  if (node == nullptr) return nullptr;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (named(c, name)) return c;
  }
  return nullptr;
}

// The element at a path of child names ("PmtId/EndToEndId"), or nullptr.
const xmlNode* at(const xmlNode* node, std::string_view path) {
  while (node != nullptr && !path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string name(path.substr(0, slash));
    node = child(node, name.c_str());
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return node;
}

std::string text(const xmlNode* node) {
  if (node == nullptr) return std::string();
  std::string out;
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
      out.append(reinterpret_cast<const char*>(c->content));
    }
  }
  const std::size_t first = out.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return std::string();
  return out.substr(first, out.find_last_not_of(" \t\r\n") - first + 1);
}

std::string attribute(const xmlNode* node, const char* name) {
  if (node == nullptr) return std::string();
  xmlChar* value = xmlGetProp(node, reinterpret_cast<const xmlChar*>(name));
  if (value == nullptr) return std::string();
  std::string out(reinterpret_cast<const char*>(value));
  xmlFree(value);
  return out;
}

// "1234.5" -> 123450 minor units; false for anything but digits with at most 2 decimals, or
// above the SEPA maximum.
bool minor_units(const std::string& s, std::int64_t* out) {
  const std::size_t dot = s.find('.');
  const std::string whole = s.substr(0, dot);
  const std::string fraction = dot == std::string::npos ? "" : s.substr(dot + 1);
  if (whole.empty() || whole.size() > 12 || fraction.size() > 2 ||
      (dot != std::string::npos && fraction.empty())) {
    return false;
  }
  std::int64_t v = 0;
  for (const char c : whole + fraction + std::string(2 - fraction.size(), '0')) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > sepa::amount_max) return false;
  *out = v;
  return true;
}

bool sepa_characters(std::string_view text) {
  for (const char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("/-?:().,'+ ").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

Transaction read_transaction(const xmlNode* tx, const std::string& group_date) {
  Transaction t;
  t.end_to_end_id = text(at(tx, "PmtId/EndToEndId"));
  json body = json::object();
  // Refused: what was read so far goes with it (the refusal is stored with those references).
  const auto refuse = [&t, &body](const char* code, std::string why) {
    t.reason_code = code;
    t.problem = std::move(why);
    t.body = body;
    return t;
  };
  if (t.end_to_end_id.empty()) return refuse("FF01", "PmtId/EndToEndId is missing");
  body["end_to_end_id"] = t.end_to_end_id;
  const xmlNode* amount = at(tx, "IntrBkSttlmAmt");
  if (amount == nullptr) return refuse("FF01", "IntrBkSttlmAmt is missing");
  const std::string currency = attribute(amount, "Ccy");
  if (currency != "EUR") return refuse("FF01", "IntrBkSttlmAmt is not in EUR (SEPA is euro only)");
  std::int64_t minor = 0;
  if (!minor_units(text(amount), &minor) || minor == 0) {
    return refuse("FF01",
                  "IntrBkSttlmAmt must be a positive amount with at most 2 decimals, at most "
                  "999999999.99");
  }
  body["amount"] = minor;
  body["currency"] = "EUR";
  std::string date = text(at(tx, "IntrBkSttlmDt"));
  if (date.empty()) date = group_date;
  if (date.empty()) return refuse("FF01", "IntrBkSttlmDt is missing");
  body["due_date"] = date;
  const std::string instrument = text(at(tx, "PmtTpInf/LclInstrm/Cd"));
  if (instrument != "CORE" && instrument != "B2B") {
    return refuse("FF01", "PmtTpInf/LclInstrm/Cd must be CORE or B2B");
  }
  body["scheme"] = instrument == "B2B" ? "b2b" : "core";
  const std::string sequence = text(at(tx, "PmtTpInf/SeqTp"));
  if (sequence.empty()) return refuse("FF01", "PmtTpInf/SeqTp is missing");
  body["sequence_type"] = sequence;
  const xmlNode* mandate = at(tx, "DrctDbtTx/MndtRltdInf");
  const std::string umr = text(at(mandate, "MndtId"));
  if (umr.empty()) return refuse("FF01", "DrctDbtTx/MndtRltdInf/MndtId is missing");
  body["mandate_reference"] = umr;
  if (const std::string signed_on = text(at(mandate, "DtOfSgntr")); !signed_on.empty()) {
    body["mandate_signature_date"] = signed_on;
  }
  // A mandate amendment: its details are mandatory (EPC SDD IG), and a former mandate
  // reference or creditor identifier among them is kept for the debtor's rules.
  if (text(at(mandate, "AmdmntInd")) == "true") {
    const xmlNode* details = at(mandate, "AmdmntInfDtls");
    if (details == nullptr) {
      return refuse("MD02", "AmdmntInd is true but AmdmntInfDtls is missing");
    }
    json amendment = json::object();
    if (const std::string m = text(at(details, "OrgnlMndtId")); !m.empty()) {
      amendment["original_mandate_reference"] = m;
    }
    if (const std::string c = text(at(details, "OrgnlCdtrSchmeId/Id/PrvtId/Othr/Id")); !c.empty()) {
      amendment["original_creditor_id"] = c;
    }
    if (!amendment.empty()) body["amendment"] = std::move(amendment);
  }
  const std::string creditor = text(at(tx, "DrctDbtTx/CdtrSchmeId/Id/PrvtId/Othr/Id"));
  if (creditor.empty()) return refuse("FF01", "DrctDbtTx/CdtrSchmeId/Id/PrvtId/Othr/Id is missing");
  body["creditor_id"] = creditor;
  const std::string name = text(at(tx, "Cdtr/Nm"));
  if (name.empty()) return refuse("FF01", "Cdtr/Nm is missing");
  body["creditor_name"] = name;
  // What the returns and rejects echo (OrgnlTxId, OrgnlTxRef). Names outside the SEPA
  // character set are not a reason to refuse a collection: such a name is not kept.
  if (const std::string id = text(at(tx, "PmtId/TxId")); !id.empty()) {
    body["transaction_id"] = id;
  }
  if (const std::string debtor = text(at(tx, "Dbtr/Nm"));
      !debtor.empty() && debtor.size() <= 70 && sepa_characters(debtor)) {
    body["debtor_name"] = debtor;
  }
  for (const auto& [path, field] : {std::pair{"DbtrAgt/FinInstnId/", "debtor_agent_bic"},
                                    std::pair{"CdtrAgt/FinInstnId/", "creditor_agent_bic"}}) {
    std::string bic = text(at(tx, std::string(path) + "BICFI"));
    if (bic.empty()) bic = text(at(tx, std::string(path) + "BIC"));  // pacs.003.001.02
    if (sepa::bic_valid(bic)) body[field] = bic;
  }
  if (const std::string creditor_iban = text(at(tx, "CdtrAcct/Id/IBAN")); !creditor_iban.empty()) {
    body["creditor_iban"] = creditor_iban;
  }
  const std::string iban = text(at(tx, "DbtrAcct/Id/IBAN"));
  const std::string other = text(at(tx, "DbtrAcct/Id/Othr/Id"));
  if (!iban.empty()) {
    body["debtor_iban"] = iban;
  } else if (!other.empty()) {
    body["account_id"] = other;  // tests: the ledger's account id
  } else {
    return refuse("FF01", "DbtrAcct/Id/IBAN is missing");
  }
  t.body = std::move(body);
  return t;
}

}  // namespace

namespace {

using Doc = std::unique_ptr<xmlDoc, DocFree>;

// An ISO 20022 document of `message` ("pacs.003"), read safely: no DTD or entity (ISO 20022
// messages have none, so one can only be an entity bomb or a lookup), no network, within
// INT32_MAX bytes; its root must be Document in the message's namespace (any version).
// nullptr and *error otherwise.
Doc read_iso20022(std::string_view xml, const std::string& message, std::string* error) {
  if (xml.find("<!DOCTYPE") != std::string_view::npos ||
      xml.find("<!ENTITY") != std::string_view::npos) {
    *error = "DTDs and entities are not accepted in ISO 20022 documents";
    return nullptr;
  }
  if (xml.size() > static_cast<std::size_t>(INT32_MAX)) {
    *error = "the document is too large";
    return nullptr;
  }
  const std::string file = message + ".xml";
  Doc doc(
      xmlReadMemory(xml.data(), static_cast<int>(xml.size()), file.c_str(), nullptr,
                    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA));
  if (!doc) {
    const xmlError* last = xmlGetLastError();
    *error = "malformed XML";
    if (last != nullptr && last->message != nullptr) {
      std::string what = last->message;
      while (!what.empty() && (what.back() == '\n' || what.back() == ' ')) what.pop_back();
      error->append(": ").append(what).append(" (line ").append(std::to_string(last->line));
      error->push_back(')');
    }
    return nullptr;
  }
  const std::string ns = "urn:iso:std:iso:20022:tech:xsd:" + message + ".001.";
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!named(root, "Document") || root->ns == nullptr ||
      std::strncmp(reinterpret_cast<const char*>(root->ns->href), ns.c_str(), ns.size()) != 0) {
    *error = "not a " + message + " document (root Document in namespace " + ns + "xx)";
    return nullptr;
  }
  return doc;
}

}  // namespace

bool parse_pacs003(std::string_view xml, Document* out, std::string* error) {
  *out = Document{};
  const Doc doc = read_iso20022(xml, "pacs.003", error);
  if (!doc) return false;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const xmlNode* message = child(root, "FIToFICstmrDrctDbt");
  const xmlNode* header = child(message, "GrpHdr");
  out->message_id = text(child(header, "MsgId"));
  if (message == nullptr || header == nullptr || out->message_id.empty()) {
    *error = "FIToFICstmrDrctDbt/GrpHdr/MsgId is missing";
    return false;
  }
  const std::string group_date = text(child(header, "IntrBkSttlmDt"));
  for (const xmlNode* c = message->children; c != nullptr; c = c->next) {
    if (!named(c, "DrctDbtTxInf")) continue;
    if (out->transactions.size() >= limits::pacs_transactions_max) {
      *error = "more than " + std::to_string(limits::pacs_transactions_max) +
               " transactions in one document";
      return false;
    }
    out->transactions.push_back(read_transaction(c, group_date));
  }
  if (out->transactions.empty()) {
    *error = "the document holds no DrctDbtTxInf";
    return false;
  }
  return true;
}

bool parse_pacs007(std::string_view xml, ReversalDocument* out, std::string* error) {
  *out = ReversalDocument{};
  const Doc doc = read_iso20022(xml, "pacs.007", error);
  if (!doc) return false;
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const xmlNode* message = child(root, "FIToFIPmtRvsl");
  out->message_id = text(at(message, "GrpHdr/MsgId"));
  if (message == nullptr || out->message_id.empty()) {
    *error = "FIToFIPmtRvsl/GrpHdr/MsgId is missing";
    return false;
  }
  for (const xmlNode* c = message->children; c != nullptr; c = c->next) {
    if (!named(c, "TxInf")) continue;
    if (out->reversals.size() >= limits::pacs_transactions_max) {
      *error = "more than " + std::to_string(limits::pacs_transactions_max) +
               " transactions in one document";
      return false;
    }
    Reversal& r = out->reversals.emplace_back();
    r.reversal_id = text(child(c, "RvslId"));
    r.end_to_end_id = text(child(c, "OrgnlEndToEndId"));
    r.creditor_id = text(at(c, "OrgnlTxRef/CdtrSchmeId/Id/PrvtId/Othr/Id"));
    r.reason_code = text(at(c, "RvslRsnInf/Rsn/Cd"));
    std::string date = text(child(c, "OrgnlIntrBkSttlmDt"));
    if (date.empty()) date = text(at(c, "OrgnlTxRef/IntrBkSttlmDt"));
    if (const auto day = sepa::parse_date(date)) r.day = *day;
    const xmlNode* amount = child(c, "RvsdIntrBkSttlmAmt");
    if (amount == nullptr) amount = child(c, "OrgnlIntrBkSttlmAmt");
    if (amount != nullptr && !minor_units(text(amount), &r.amount)) r.amount = -1;
    if (r.end_to_end_id.empty()) {
      r.problem = "OrgnlEndToEndId is missing";
    } else if (r.day < 0) {
      r.problem = "OrgnlIntrBkSttlmDt is missing or not a date";
    } else if (r.amount < 0 || (amount != nullptr && attribute(amount, "Ccy") != "EUR")) {
      r.problem = "the reversed amount is not a EUR amount with at most 2 decimals";
    }
  }
  if (out->reversals.empty()) {
    *error = "the document holds no TxInf";
    return false;
  }
  return true;
}

namespace {

void escape_into(std::string_view text, std::string* out) {
  for (const char c : text) {
    switch (c) {
      case '&':
        out->append("&amp;");
        break;
      case '<':
        out->append("&lt;");
        break;
      case '>':
        out->append("&gt;");
        break;
      case '"':
        out->append("&quot;");
        break;
      case '\'':
        out->append("&apos;");
        break;
      default:
        out->push_back(c);
    }
  }
}

class Xml {
 public:
  Xml& open(const char* tag) {
    s_.append("<").append(tag).append(">");
    return *this;
  }
  Xml& close(const char* tag) {
    s_.append("</").append(tag).append(">");
    return *this;
  }
  Xml& leaf(const char* tag, std::string_view text) {
    open(tag);
    escape_into(text, &s_);
    return close(tag);
  }
  Xml& amount(const char* tag, std::int64_t minor) {
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(minor / 100),
                  static_cast<long long>(minor % 100));
    s_.append("<").append(tag).append(" Ccy=\"EUR\">").append(text);
    return close(tag);
  }
  Xml& raw(std::string_view text) {
    s_.append(text);
    return *this;
  }
  std::string take() { return std::move(s_); }

 private:
  std::string s_;
};

std::string timestamp(std::uint64_t ns) {
  const auto day = static_cast<std::int32_t>(ns / ns_per_day);
  const std::uint64_t s = ns / ns_per_s % 86400;
  char text[16];
  std::snprintf(text, sizeof text, "T%02u:%02u:%02u", static_cast<unsigned>(s / 3600),
                static_cast<unsigned>(s / 60 % 60), static_cast<unsigned>(s % 60));
  return sepa::format_date(day) + text;
}

std::string compact_id(const DirectDebitId& id) {
  std::string text = format_uuid(id.value);
  text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
  return text;  // 32 characters: fits Max35Text
}

std::string or_not_provided(const std::string& text) { return text.empty() ? "NOTPROVIDED" : text; }

std::string original_message(const DirectDebitView& v) {
  return or_not_provided(v.details.message_id);
}

// <tag><inner><leaf>value</leaf></inner></tag>, or with "NOTPROVIDED" as the other
// identification (<Othr><Id>) when the value is not known: an agent by its BIC
// (FinInstnId/BICFI), an account by its IBAN (Id/IBAN).
void identified(const char* tag, const char* inner, const char* leaf, const std::string& value,
                Xml* x) {
  x->open(tag).open(inner);
  if (!value.empty()) {
    x->leaf(leaf, value);
  } else {
    x->open("Othr").leaf("Id", "NOTPROVIDED").close("Othr");
  }
  x->close(inner).close(tag);
}

void agent(const char* tag, const std::string& bic, Xml* x) {
  identified(tag, "FinInstnId", "BICFI", bic, x);
}

void account(const char* tag, const std::string& iban, Xml* x) {
  identified(tag, "Id", "IBAN", iban, x);
}

// The party that decided (the debtor bank), by its BIC.
void originator(const std::string& bic, Xml* x) {
  x->open("Orgtr").open("Id").open("OrgId").leaf("AnyBIC", bic).close("OrgId").close("Id");
  x->close("Orgtr");
}

// The original collection (OrgnlTxRef, OriginalTransactionReference28) in the schema's order
// and with what the EPC SDD guideline makes mandatory: amount and settlement date, the
// requested collection date, the creditor scheme identifier, the payment type, the mandate,
// then debtor, debtor account, debtor agent, creditor agent, creditor, creditor account.
void original_reference(const DirectDebitView& v, const std::string& bank_bic, Xml* x) {
  const DirectDebitDetails& d = v.details;
  x->open("OrgnlTxRef");
  x->amount("IntrBkSttlmAmt", v.state.amount);
  x->leaf("IntrBkSttlmDt", sepa::format_date(v.state.due_day));
  x->leaf("ReqdColltnDt", sepa::format_date(v.state.due_day));
  x->open("CdtrSchmeId")
      .open("Id")
      .open("PrvtId")
      .open("Othr")
      .leaf("Id", d.creditor_id)
      .open("SchmeNm")
      .leaf("Prtry", "SEPA")
      .close("SchmeNm")
      .close("Othr")
      .close("PrvtId")
      .close("Id")
      .close("CdtrSchmeId");
  x->open("PmtTpInf")
      .open("SvcLvl")
      .leaf("Cd", "SEPA")
      .close("SvcLvl")
      .open("LclInstrm")
      .leaf("Cd", v.state.scheme == DirectDebitScheme::b2b ? "B2B" : "CORE")
      .close("LclInstrm")
      .leaf("SeqTp", sequence_name(v.state.sequence))
      .close("PmtTpInf");
  x->open("MndtRltdInf").open("DrctDbtMndt").leaf("MndtId", d.mandate_reference);
  if (d.mandate_signed >= 0) x->leaf("DtOfSgntr", sepa::format_date(d.mandate_signed));
  x->close("DrctDbtMndt").close("MndtRltdInf");
  x->open("Dbtr").open("Pty").leaf("Nm", or_not_provided(d.debtor_name)).close("Pty");
  x->close("Dbtr");
  account("DbtrAcct", d.debtor_iban, x);
  agent("DbtrAgt", d.debtor_agent_bic.empty() ? bank_bic : d.debtor_agent_bic, x);
  agent("CdtrAgt", d.creditor_agent_bic, x);
  x->open("Cdtr").open("Pty").leaf("Nm", or_not_provided(d.creditor_name)).close("Pty");
  x->close("Cdtr");
  account("CdtrAcct", d.creditor_iban, x);
  x->close("OrgnlTxRef");
}

}  // namespace

FileHeader file_header(std::string message_id, std::uint64_t now_ns, std::string bic) {
  FileHeader h;
  h.message_id = std::move(message_id);
  h.now_ns = now_ns;
  h.day = sepa::day_of_ns(now_ns);
  h.bic = std::move(bic);
  return h;
}

std::int64_t refund_compensation(std::int64_t amount, std::uint32_t rate_bp, std::int32_t days) {
  if (amount <= 0 || rate_bp == 0 || days <= 0) return 0;
  const __int128 numerator = static_cast<__int128>(amount) * rate_bp * days;
  const __int128 denominator = static_cast<__int128>(10'000) * 360;
  return static_cast<std::int64_t>((numerator + denominator / 2) / denominator);
}

namespace {

// A refund's compensation, from the debit (the due date, or the day a waiting collection was
// paid) to the refund (the day of the change); -1 for a return (not a refund).
std::int64_t compensation_of(const DirectDebitView& v, std::uint32_t rate_bp) {
  const auto reason = static_cast<sepa::Reason>(v.state.reason);
  if (reason != sepa::Reason::MD06 && reason != sepa::Reason::MD01) return -1;
  const std::int32_t debited =
      std::max(v.state.due_day, v.state.paid_at != 0 ? sepa::day_of_ns(v.state.paid_at) : 0);
  return refund_compensation(v.state.amount, rate_bp, sepa::day_of_ns(v.state.timestamp) - debited);
}

}  // namespace

std::string write_pacs004(const std::vector<DirectDebitView>& returns, const FileHeader& file) {
  std::int64_t total = 0;
  for (const DirectDebitView& v : returns) {
    total +=
        v.state.amount + std::max<std::int64_t>(0, compensation_of(v, file.compensation_rate_bp));
  }
  // The return settles on the day it is sent, or the next TARGET2 business day.
  const std::string settlement = sepa::format_date(sepa::add_business_days(file.day, 0));
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09\">")
      .open("PmtRtr")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns))
      .leaf("NbOfTxs", std::to_string(returns.size()))
      .amount("TtlRtrdIntrBkSttlmAmt", total)
      .leaf("IntrBkSttlmDt", settlement)
      .open("SttlmInf")
      .leaf("SttlmMtd", "CLRG")
      .close("SttlmInf");
  agent("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  for (const DirectDebitView& v : returns) {
    x.open("TxInf")
        .leaf("RtrId", compact_id(v.state.id))
        .open("OrgnlGrpInf")
        .leaf("OrgnlMsgId", original_message(v))
        .leaf("OrgnlMsgNmId", "pacs.003")
        .close("OrgnlGrpInf")
        .leaf("OrgnlEndToEndId", v.details.end_to_end_id)
        .leaf("OrgnlTxId", or_not_provided(v.details.transaction_id))
        .amount("OrgnlIntrBkSttlmAmt", v.state.amount)
        .leaf("OrgnlIntrBkSttlmDt", sepa::format_date(v.state.due_day));
    // A refund claims the amount and its compensation (CompstnAmt, mandatory for refunds in
    // the EPC guideline); a return the amount only.
    const std::int64_t compensation = compensation_of(v, file.compensation_rate_bp);
    x.amount("RtrdIntrBkSttlmAmt", v.state.amount + std::max<std::int64_t>(0, compensation));
    if (compensation >= 0) x.amount("CompstnAmt", compensation);
    x.leaf("ChrgBr", "SLEV").open("RtrRsnInf");
    originator(file.bic, &x);
    x.open("Rsn")
        .leaf("Cd", sepa::reason_name(static_cast<sepa::Reason>(v.state.reason)))
        .close("Rsn")
        .close("RtrRsnInf");
    original_reference(v, file.bic, &x);
    x.close("TxInf");
  }
  return x.close("PmtRtr").raw("</Document>").take();
}

std::string write_pacs002(const std::vector<DirectDebitView>& rejects, const FileHeader& file) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\">")
      .open("FIToFIPmtStsRpt")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns));
  agent("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  std::vector<std::string> messages;
  for (const DirectDebitView& v : rejects) {
    const std::string m = original_message(v);
    if (std::find(messages.begin(), messages.end(), m) == messages.end()) messages.push_back(m);
  }
  for (const std::string& m : messages) {
    x.open("OrgnlGrpInfAndSts")
        .leaf("OrgnlMsgId", m)
        .leaf("OrgnlMsgNmId", "pacs.003")
        .close("OrgnlGrpInfAndSts");
  }
  for (const DirectDebitView& v : rejects) {
    x.open("TxInfAndSts")
        .leaf("StsId", compact_id(v.state.id))
        .open("OrgnlGrpInf")
        .leaf("OrgnlMsgId", original_message(v))
        .leaf("OrgnlMsgNmId", "pacs.003")
        .close("OrgnlGrpInf")
        .leaf("OrgnlEndToEndId", v.details.end_to_end_id)
        .leaf("OrgnlTxId", or_not_provided(v.details.transaction_id))
        .leaf("TxSts", "RJCT")
        .open("StsRsnInf");
    originator(file.bic, &x);
    x.open("Rsn")
        .leaf("Cd", sepa::reason_name(static_cast<sepa::Reason>(v.state.reason)))
        .close("Rsn")
        .close("StsRsnInf");
    original_reference(v, file.bic, &x);
    x.close("TxInfAndSts");
  }
  return x.close("FIToFIPmtStsRpt").raw("</Document>").take();
}

}  // namespace ledger::http::pacs

// --- SEPA credit transfers ---------------------------------------------------------------------

namespace ledger::http::pacs {
namespace {

// "pacs.008.001.02" from the root's namespace.
std::string message_of(const xmlDoc* doc) {
  const xmlNode* root = xmlDocGetRootElement(const_cast<xmlDoc*>(doc));
  const std::string ns = reinterpret_cast<const char*>(root->ns->href);
  const std::string prefix = "urn:iso:std:iso:20022:tech:xsd:";
  return ns.size() > prefix.size() ? ns.substr(prefix.size()) : std::string();
}

std::string bic_at(const xmlNode* agent) {
  std::string bic = text(at(agent, "FinInstnId/BICFI"));
  if (bic.empty()) bic = text(at(agent, "FinInstnId/BIC"));
  return bic;
}

// The checks every credit transfer passes, read from a pacs.008 or a pain.001: the first
// failure sets reason_code and problem.
void check_credit(CreditTransaction* t, bool need_debtor) {
  const auto refuse = [t](const char* code, std::string why) {
    if (t->reason_code.empty()) {
      t->reason_code = code;
      t->problem = std::move(why);
    }
  };
  if (t->end_to_end_id.empty() || t->end_to_end_id.size() > 35) {
    refuse("FF01", "PmtId/EndToEndId must be 1 to 35 characters");
  } else if (!sepa_characters(t->end_to_end_id) || t->end_to_end_id.front() == '/' ||
             t->end_to_end_id.find("//") != std::string::npos) {
    refuse("FF01", "PmtId/EndToEndId has characters outside the SEPA set");
  }
  if (t->creditor_name.empty() || t->creditor_name.size() > 70) {
    refuse("FF01", "Cdtr/Nm must be 1 to 70 characters");
  } else if (!sepa_characters(t->creditor_name)) {
    refuse("FF01", "Cdtr/Nm has characters outside the SEPA set");
  }
  if (!sepa::iban_valid(t->creditor_iban)) {
    refuse("AC01", "CdtrAcct/Id/IBAN is not a valid IBAN (country length, mod 97)");
  }
  if (!t->creditor_bic.empty() && !sepa::bic_valid(t->creditor_bic)) {
    refuse("RC01", "CdtrAgt BIC is not a valid BIC");
  }
  if (need_debtor) {
    if (t->debtor_name.empty() || t->debtor_name.size() > 70) {
      refuse("FF01", "Dbtr/Nm must be 1 to 70 characters");
    } else if (!sepa_characters(t->debtor_name)) {
      refuse("FF01", "Dbtr/Nm has characters outside the SEPA set");
    }
    if (!sepa::iban_valid(t->debtor_iban)) {
      refuse("AC02", "DbtrAcct/Id/IBAN is not a valid IBAN (country length, mod 97)");
    }
  }
  if (t->remittance.size() > 140) {
    refuse("FF01", "RmtInf/Ustrd is longer than 140 characters");
  } else if (!sepa_characters(t->remittance)) {
    refuse("FF01", "RmtInf/Ustrd has characters outside the SEPA set");
  }
  if (t->day == -1) refuse("DT01", "the date is missing or not a date");
}

// An amount element: EUR, positive, at most 2 decimals, at most 999,999,999.99.
void read_amount(const xmlNode* amount, const char* path, CreditTransaction* t) {
  if (amount == nullptr) {
    t->reason_code = "FF01";
    t->problem = std::string(path) + " is missing";
  } else if (attribute(amount, "Ccy") != "EUR") {
    t->reason_code = "AM03";
    t->problem = std::string(path) + " is not in EUR (SEPA is euro only)";
  } else if (!minor_units(text(amount), &t->amount) || t->amount == 0) {
    t->reason_code = "AM12";
    t->problem = std::string(path) +
                 " must be a positive amount with at most 2 decimals, at most 999999999.99";
  }
}

CreditTransaction read_credit(const xmlNode* tx, const std::string& group_date) {
  CreditTransaction t;
  t.instruction_id = text(at(tx, "PmtId/InstrId"));
  t.end_to_end_id = text(at(tx, "PmtId/EndToEndId"));
  t.transaction_id = text(at(tx, "PmtId/TxId"));
  read_amount(at(tx, "IntrBkSttlmAmt"), "IntrBkSttlmAmt", &t);
  std::string date = text(at(tx, "IntrBkSttlmDt"));
  if (date.empty()) date = group_date;
  if (const auto day = sepa::parse_date(date)) t.day = *day;
  if (date.empty()) t.day = -2;  // not given: the day it arrives (a malformed date is DT01)
  t.instant = text(at(tx, "PmtTpInf/LclInstrm/Cd")) == "INST";
  t.debtor_name = text(at(tx, "Dbtr/Nm"));
  t.debtor_iban = text(at(tx, "DbtrAcct/Id/IBAN"));
  t.debtor_bic = bic_at(at(tx, "DbtrAgt"));
  t.creditor_name = text(at(tx, "Cdtr/Nm"));
  t.creditor_iban = text(at(tx, "CdtrAcct/Id/IBAN"));
  t.creditor_bic = bic_at(at(tx, "CdtrAgt"));
  t.remittance = text(at(tx, "RmtInf/Ustrd"));
  if (t.transaction_id.size() > 35) {
    t.reason_code = "FF01";
    t.problem = "PmtId/TxId is longer than 35 characters";
  }
  check_credit(&t, /*need_debtor=*/true);
  return t;
}

}  // namespace

bool sepa_text(std::string_view text) { return sepa_characters(text); }

bool parse_pacs008(std::string_view xml, CreditDocument* out, std::string* error) {
  *out = CreditDocument{};
  const Doc doc = read_iso20022(xml, "pacs.008", error);
  if (!doc) return false;
  out->message = message_of(doc.get());
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const xmlNode* message = child(root, "FIToFICstmrCdtTrf");
  const xmlNode* header = child(message, "GrpHdr");
  out->message_id = text(child(header, "MsgId"));
  if (message == nullptr || header == nullptr || out->message_id.empty() ||
      out->message_id.size() > 35) {
    *error = "FIToFICstmrCdtTrf/GrpHdr/MsgId is missing or longer than 35 characters";
    return false;
  }
  std::string group_date = text(child(header, "IntrBkSttlmDt"));
  const bool group_instant = text(at(header, "PmtTpInf/LclInstrm/Cd")) == "INST";
  for (const xmlNode* c = message->children; c != nullptr; c = c->next) {
    if (!named(c, "CdtTrfTxInf")) continue;
    if (out->transactions.size() >= limits::pacs_transactions_max) {
      *error = "more than " + std::to_string(limits::pacs_transactions_max) +
               " transactions in one document";
      return false;
    }
    CreditTransaction t = read_credit(c, group_date);
    t.instant = t.instant || group_instant;
    out->read_sum += t.amount;
    out->transactions.push_back(std::move(t));
  }
  if (out->transactions.empty()) {
    *error = "the document holds no CdtTrfTxInf";
    return false;
  }
  std::int64_t count = 0;
  if (parse_number(text(child(header, "NbOfTxs")), &count)) out->declared_count = count;
  return true;
}

bool parse_pain001(std::string_view xml, CreditDocument* out, std::string* error) {
  *out = CreditDocument{};
  const Doc doc = read_iso20022(xml, "pain.001", error);
  if (!doc) return false;
  out->message = message_of(doc.get());
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const xmlNode* message = child(root, "CstmrCdtTrfInitn");
  const xmlNode* header = child(message, "GrpHdr");
  out->message_id = text(child(header, "MsgId"));
  if (message == nullptr || header == nullptr || out->message_id.empty() ||
      out->message_id.size() > 35) {
    *error = "CstmrCdtTrfInitn/GrpHdr/MsgId is missing or longer than 35 characters";
    return false;
  }
  std::int64_t count = 0;
  if (parse_number(text(child(header, "NbOfTxs")), &count)) out->declared_count = count;
  std::int64_t sum = 0;
  if (const std::string control = text(child(header, "CtrlSum")); !control.empty()) {
    out->declared_sum = minor_units(control, &sum) ? sum : -2;  // -2: present, unreadable
  }
  for (const xmlNode* p = message->children; p != nullptr; p = p->next) {
    if (!named(p, "PmtInf")) continue;
    const std::string info = text(child(p, "PmtInfId"));
    const std::string method = text(child(p, "PmtMtd"));
    // pain.001.001.03: ReqdExctnDt is a date; from .001.08 on it holds Dt or DtTm.
    std::string date = text(at(p, "ReqdExctnDt/Dt"));
    if (date.empty()) date = text(at(p, "ReqdExctnDt/DtTm")).substr(0, 10);
    if (date.empty()) date = text(child(p, "ReqdExctnDt"));
    const bool instant = text(at(p, "PmtTpInf/LclInstrm/Cd")) == "INST";
    const std::string service = text(at(p, "PmtTpInf/SvcLvl/Cd"));
    const std::string debtor_name = text(at(p, "Dbtr/Nm"));
    const std::string debtor_iban = text(at(p, "DbtrAcct/Id/IBAN"));
    const std::string debtor_bic = bic_at(child(p, "DbtrAgt"));
    for (const xmlNode* c = p->children; c != nullptr; c = c->next) {
      if (!named(c, "CdtTrfTxInf")) continue;
      if (out->transactions.size() >= limits::pacs_transactions_max) {
        *error = "more than " + std::to_string(limits::pacs_transactions_max) +
                 " payments in one document";
        return false;
      }
      CreditTransaction& t = out->transactions.emplace_back();
      t.payment_info_id = info;
      t.instruction_id = text(at(c, "PmtId/InstrId"));
      t.end_to_end_id = text(at(c, "PmtId/EndToEndId"));
      t.instant = instant || text(at(c, "PmtTpInf/LclInstrm/Cd")) == "INST";
      t.debtor_name = debtor_name;
      t.debtor_iban = debtor_iban;
      t.debtor_bic = debtor_bic;
      t.creditor_name = text(at(c, "Cdtr/Nm"));
      t.creditor_iban = text(at(c, "CdtrAcct/Id/IBAN"));
      t.creditor_bic = bic_at(child(c, "CdtrAgt"));
      t.remittance = text(at(c, "RmtInf/Ustrd"));
      if (const auto day = sepa::parse_date(date)) t.day = *day;
      if (method != "TRF") {
        t.reason_code = "FF01";
        t.problem = "PmtInf/PmtMtd must be TRF";
      } else if (!service.empty() && service != "SEPA") {
        t.reason_code = "FF01";
        t.problem = "PmtTpInf/SvcLvl/Cd must be SEPA";
      }
      read_amount(at(c, "Amt/InstdAmt"), "Amt/InstdAmt", &t);
      out->read_sum += t.amount;
      check_credit(&t, /*need_debtor=*/false);
    }
  }
  if (out->transactions.empty()) {
    *error = "the document holds no PmtInf/CdtTrfTxInf";
    return false;
  }
  return true;
}

bool parse_credit_status(std::string_view xml, CreditStatusDocument* out, std::string* error) {
  *out = CreditStatusDocument{};
  // Which message: the namespace decides (read_iso20022 checks it).
  std::string kind;
  for (const char* m : {"pacs.002", "pacs.004", "camt.056", "camt.029"}) {
    if (xml.find(std::string("urn:iso:std:iso:20022:tech:xsd:") + m + ".001.") !=
        std::string_view::npos) {
      kind = m;
      break;
    }
  }
  if (kind.empty()) {
    *error = "not a pacs.002, pacs.004, camt.056 or camt.029 document";
    return false;
  }
  const Doc doc = read_iso20022(xml, kind, error);
  if (!doc) return false;
  out->message = message_of(doc.get());
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const bool camt = kind.rfind("camt", 0) == 0;
  const char* body_name = kind == "pacs.002"   ? "FIToFIPmtStsRpt"
                          : kind == "pacs.004" ? "PmtRtr"
                          : kind == "camt.056" ? "FIToFIPmtCxlReq"
                                               : "RsltnOfInvstgtn";
  const xmlNode* body = child(root, body_name);
  out->message_id = text(at(body, camt ? "Assgnmt/Id" : "GrpHdr/MsgId"));
  if (body == nullptr || out->message_id.empty()) {
    *error =
        std::string(body_name) + (camt ? "/Assgnmt/Id is missing" : "/GrpHdr/MsgId is missing");
    return false;
  }
  const auto add = [&](const xmlNode* e, const std::string& group_message) {
    if (out->entries.size() >= limits::pacs_transactions_max) return false;
    CreditStatus& s = out->entries.emplace_back();
    s.original_message_id = text(at(e, "OrgnlGrpInf/OrgnlMsgId"));
    if (s.original_message_id.empty()) s.original_message_id = group_message;
    s.end_to_end_id = text(child(e, "OrgnlEndToEndId"));
    s.transaction_id = text(child(e, "OrgnlTxId"));
    if (kind == "pacs.002") {
      s.id = text(child(e, "StsId"));
      s.status = text(child(e, "TxSts"));
      s.reason_code = text(at(e, "StsRsnInf/Rsn/Cd"));
    } else if (kind == "pacs.004") {
      s.id = text(child(e, "RtrId"));
      s.reason_code = text(at(e, "RtrRsnInf/Rsn/Cd"));
      const xmlNode* amount = child(e, "RtrdIntrBkSttlmAmt");
      if (amount != nullptr && !minor_units(text(amount), &s.amount)) s.amount = -1;
    } else if (kind == "camt.029") {
      s.id = text(child(e, "CxlStsId"));
      s.status = text(child(e, "TxCxlSts"));
      s.reason_code = text(at(e, "CxlStsRsnInf/Rsn/Cd"));
    } else {
      s.id = text(child(e, "CxlId"));
      s.reason_code = text(at(e, "CxlRsnInf/Rsn/Cd"));
      const xmlNode* amount = child(e, "OrgnlIntrBkSttlmAmt");
      if (amount != nullptr && !minor_units(text(amount), &s.amount)) s.amount = -1;
    }
    if (s.end_to_end_id.empty() && s.transaction_id.empty()) {
      s.problem = "neither OrgnlEndToEndId nor OrgnlTxId is given";
    } else if (kind == "pacs.002" && s.status.empty()) {
      s.problem = "TxSts is missing";
    } else if (s.amount < 0) {
      s.problem = "the amount is not a EUR amount with at most 2 decimals";
    }
    return true;
  };
  bool fits = true;
  if (kind == "pacs.002") {
    const std::string group = text(at(body, "OrgnlGrpInfAndSts/OrgnlMsgId"));
    const std::string group_status = text(at(body, "OrgnlGrpInfAndSts/GrpSts"));
    for (const xmlNode* c = body->children; c != nullptr && fits; c = c->next) {
      if (named(c, "TxInfAndSts")) fits = add(c, group);
    }
    // A whole file rejected: one entry naming the message, every transfer in it.
    if (out->entries.empty() && group_status == "RJCT" && !group.empty()) {
      CreditStatus& s = out->entries.emplace_back();
      s.original_message_id = group;
      s.status = "RJCT";
      s.reason_code = text(at(body, "OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd"));
    }
  } else if (kind == "pacs.004") {
    for (const xmlNode* c = body->children; c != nullptr && fits; c = c->next) {
      if (named(c, "TxInf")) fits = add(c, text(at(body, "OrgnlGrpInf/OrgnlMsgId")));
    }
  } else if (kind == "camt.029") {
    for (const xmlNode* d = body->children; d != nullptr && fits; d = d->next) {
      if (!named(d, "CxlDtls")) continue;
      for (const xmlNode* c = d->children; c != nullptr && fits; c = c->next) {
        if (named(c, "TxInfAndSts")) fits = add(c, text(at(d, "OrgnlGrpInfAndSts/OrgnlMsgId")));
      }
    }
  } else {
    for (const xmlNode* u = body->children; u != nullptr && fits; u = u->next) {
      if (!named(u, "Undrlyg")) continue;
      for (const xmlNode* c = u->children; c != nullptr && fits; c = c->next) {
        if (named(c, "TxInf")) fits = add(c, text(at(u, "OrgnlGrpInfAndCxl/OrgnlMsgId")));
      }
    }
  }
  if (!fits) {
    *error = "more than " + std::to_string(limits::pacs_transactions_max) +
             " transactions in one document";
    return false;
  }
  if (out->entries.empty()) {
    *error = "the document holds no transaction";
    return false;
  }
  return true;
}

namespace {

std::string compact(Uint128 id) {
  std::string text = format_uuid(id);
  text.erase(std::remove(text.begin(), text.end(), '-'), text.end());
  return text;
}

// An agent in the 2009 messages (pacs.008.001.02, pain.002.001.03): FinInstnId/BIC.
void agent_2009(const char* tag, const std::string& bic, Xml* x) {
  identified(tag, "FinInstnId", "BIC", bic, x);
}

}  // namespace

std::string write_pacs008(const std::vector<CreditEntry>& transfers, const FileHeader& file,
                          bool instant) {
  std::int64_t total = 0;
  for (const CreditEntry& e : transfers) total += e.transfer.amount;
  const std::string settlement = sepa::format_date(file.day);
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.008.001.02\">")
      .open("FIToFICstmrCdtTrf")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns))
      .leaf("NbOfTxs", std::to_string(transfers.size()))
      .amount("TtlIntrBkSttlmAmt", total)
      .leaf("IntrBkSttlmDt", settlement)
      .open("SttlmInf")
      .leaf("SttlmMtd", "CLRG")
      .close("SttlmInf")
      .open("PmtTpInf")
      .open("SvcLvl")
      .leaf("Cd", "SEPA")
      .close("SvcLvl");
  if (instant) x.open("LclInstrm").leaf("Cd", "INST").close("LclInstrm");
  x.close("PmtTpInf");
  agent_2009("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  for (const CreditEntry& e : transfers) {
    const CreditTransferRecord& t = e.transfer;
    x.open("CdtTrfTxInf")
        .open("PmtId")
        .leaf("InstrId", compact(t.id))
        .leaf("EndToEndId", t.end_to_end_id)
        .leaf("TxId", t.transaction_id)
        .close("PmtId")
        .amount("IntrBkSttlmAmt", t.amount);
    if (instant) x.leaf("AccptncDtTm", timestamp(file.now_ns));
    x.leaf("ChrgBr", "SLEV");
    x.open("Dbtr").leaf("Nm", or_not_provided(t.debtor_name)).close("Dbtr");
    account("DbtrAcct", t.debtor_iban, &x);
    agent_2009("DbtrAgt", file.bic, &x);
    agent_2009("CdtrAgt", t.creditor_bic, &x);
    x.open("Cdtr").leaf("Nm", t.creditor_name).close("Cdtr");
    account("CdtrAcct", t.creditor_iban, &x);
    if (!t.remittance.empty()) x.open("RmtInf").leaf("Ustrd", t.remittance).close("RmtInf");
    x.close("CdtTrfTxInf");
  }
  return x.close("FIToFICstmrCdtTrf").raw("</Document>").take();
}

std::string write_credit_pacs002(const std::vector<CreditEntry>& answers,
                                 const std::string& original_message_id,
                                 const std::string& original_message, const FileHeader& file) {
  Xml x;
  bool all_accepted = true;
  for (const CreditEntry& e : answers) all_accepted = all_accepted && e.status == "ACCP";
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.002.001.10\">")
      .open("FIToFIPmtStsRpt")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns));
  agent("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  x.open("OrgnlGrpInfAndSts")
      .leaf("OrgnlMsgId", original_message_id)
      .leaf("OrgnlMsgNmId", original_message);
  if (answers.size() == 1 || all_accepted) {
    x.leaf("GrpSts", all_accepted ? "ACCP" : answers.front().status);
  }
  x.close("OrgnlGrpInfAndSts");
  for (const CreditEntry& e : answers) {
    x.open("TxInfAndSts").leaf("StsId", e.id.empty() ? compact(e.transfer.id) : e.id);
    x.leaf("OrgnlEndToEndId", or_not_provided(e.transfer.end_to_end_id))
        .leaf("OrgnlTxId", or_not_provided(e.transfer.transaction_id))
        .leaf("TxSts", e.status);
    if (!e.reason_code.empty()) {
      x.open("StsRsnInf");
      originator(file.bic, &x);
      x.open("Rsn").leaf("Cd", e.reason_code).close("Rsn").close("StsRsnInf");
    }
    x.close("TxInfAndSts");
  }
  return x.close("FIToFIPmtStsRpt").raw("</Document>").take();
}

std::string write_credit_pacs004(const std::vector<CreditEntry>& returns, const FileHeader& file) {
  std::int64_t total = 0;
  for (const CreditEntry& e : returns) total += e.transfer.amount;
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.004.001.09\">")
      .open("PmtRtr")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns))
      .leaf("NbOfTxs", std::to_string(returns.size()))
      .amount("TtlRtrdIntrBkSttlmAmt", total)
      .leaf("IntrBkSttlmDt", sepa::format_date(file.day))
      .open("SttlmInf")
      .leaf("SttlmMtd", "CLRG")
      .close("SttlmInf");
  agent("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  for (const CreditEntry& e : returns) {
    const CreditTransferRecord& t = e.transfer;
    x.open("TxInf")
        .leaf("RtrId", e.id.empty() ? compact(t.id) : e.id)
        .open("OrgnlGrpInf")
        .leaf("OrgnlMsgId", or_not_provided(t.message_id))
        .leaf("OrgnlMsgNmId", "pacs.008")
        .close("OrgnlGrpInf")
        .leaf("OrgnlEndToEndId", t.end_to_end_id)
        .leaf("OrgnlTxId", or_not_provided(t.transaction_id))
        .amount("OrgnlIntrBkSttlmAmt", t.amount)
        .leaf("OrgnlIntrBkSttlmDt", sepa::format_date(t.execution_day))
        .amount("RtrdIntrBkSttlmAmt", t.amount)
        .leaf("ChrgBr", "SLEV")
        .open("RtrRsnInf");
    originator(file.bic, &x);
    x.open("Rsn").leaf("Cd", e.reason_code).close("Rsn").close("RtrRsnInf");
    x.close("TxInf");
  }
  return x.close("PmtRtr").raw("</Document>").take();
}

namespace {

// A case's assignment (camt.056, camt.029): this bank to the clearing house, by the file's
// MsgId.
void assignment(const FileHeader& file, Xml* x) {
  x->open("Assgnmt").leaf("Id", file.message_id);
  x->open("Assgnr").open("Agt");
  x->open("FinInstnId").leaf("BICFI", file.bic).close("FinInstnId");
  x->close("Agt").close("Assgnr");
  x->open("Assgne").open("Agt");
  x->open("FinInstnId").open("Othr").leaf("Id", "NOTPROVIDED").close("Othr").close("FinInstnId");
  x->close("Agt").close("Assgne");
  x->leaf("CreDtTm", timestamp(file.now_ns)).close("Assgnmt");
}

}  // namespace

std::string write_camt056(const std::vector<CreditEntry>& recalls, const FileHeader& file) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.056.001.08\">")
      .open("FIToFIPmtCxlReq");
  assignment(file, &x);
  x.open("Undrlyg");
  for (const CreditEntry& e : recalls) {
    const CreditTransferRecord& t = e.transfer;
    x.open("TxInf")
        .leaf("CxlId", e.id.empty() ? compact(t.id) : e.id)
        .open("OrgnlGrpInf")
        .leaf("OrgnlMsgId", or_not_provided(t.message_id))
        .leaf("OrgnlMsgNmId", "pacs.008")
        .close("OrgnlGrpInf")
        .leaf("OrgnlEndToEndId", t.end_to_end_id)
        .leaf("OrgnlTxId", or_not_provided(t.transaction_id))
        .amount("OrgnlIntrBkSttlmAmt", t.amount)
        .leaf("OrgnlIntrBkSttlmDt", sepa::format_date(t.execution_day))
        .open("CxlRsnInf");
    originator(file.bic, &x);
    x.open("Rsn").leaf("Cd", e.reason_code).close("Rsn").close("CxlRsnInf");
    x.close("TxInf");
  }
  x.close("Undrlyg");
  return x.close("FIToFIPmtCxlReq").raw("</Document>").take();
}

std::string write_camt029(const std::vector<CreditEntry>& refusals, const FileHeader& file) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.029.001.09\">")
      .open("RsltnOfInvstgtn");
  assignment(file, &x);
  x.open("Sts").leaf("Conf", "RJCR").close("Sts");
  for (const CreditEntry& e : refusals) {
    const CreditTransferRecord& t = e.transfer;
    x.open("CxlDtls").open("TxInfAndSts");
    x.leaf("CxlStsId", compact(t.id));
    x.open("OrgnlGrpInf")
        .leaf("OrgnlMsgId", or_not_provided(t.message_id))
        .leaf("OrgnlMsgNmId", "pacs.008")
        .close("OrgnlGrpInf");
    x.leaf("OrgnlEndToEndId", t.end_to_end_id)
        .leaf("OrgnlTxId", or_not_provided(t.transaction_id))
        .leaf("TxCxlSts", "RJCR")
        .open("CxlStsRsnInf");
    originator(file.bic, &x);
    x.open("Rsn").leaf("Cd", e.reason_code).close("Rsn").close("CxlStsRsnInf");
    x.close("TxInfAndSts").close("CxlDtls");
  }
  return x.close("RsltnOfInvstgtn").raw("</Document>").take();
}

std::string write_pacs028(const CreditTransferRecord& t, const FileHeader& file) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pacs.028.001.03\">")
      .open("FIToFIPmtStsReq")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns));
  agent("InstgAgt", file.bic, &x);
  x.close("GrpHdr");
  x.open("TxInf")
      .leaf("StsReqId", compact(t.id))
      .open("OrgnlGrpInf")
      .leaf("OrgnlMsgId", or_not_provided(t.message_id))
      .leaf("OrgnlMsgNmId", "pacs.008.001.02")
      .close("OrgnlGrpInf")
      .leaf("OrgnlEndToEndId", t.end_to_end_id)
      .leaf("OrgnlTxId", t.transaction_id)
      .close("TxInf");
  return x.close("FIToFIPmtStsReq").raw("</Document>").take();
}

std::string write_pain002(const CreditDocument& order, const std::vector<CreditEntry>& answers,
                          const std::string& group_status, const std::string& group_reason,
                          const FileHeader& file) {
  Xml x;
  x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
      .raw("<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.03\">")
      .open("CstmrPmtStsRpt")
      .open("GrpHdr")
      .leaf("MsgId", file.message_id)
      .leaf("CreDtTm", timestamp(file.now_ns));
  agent_2009("DbtrAgt", file.bic, &x);
  x.close("GrpHdr");
  x.open("OrgnlGrpInfAndSts")
      .leaf("OrgnlMsgId", order.message_id)
      .leaf("OrgnlMsgNmId", order.message.empty() ? "pain.001.001.03" : order.message);
  if (order.declared_count >= 0) x.leaf("OrgnlNbOfTxs", std::to_string(order.declared_count));
  x.leaf("GrpSts", group_status);
  if (!group_reason.empty()) {
    x.open("StsRsnInf").open("Rsn").leaf("Cd", group_reason).close("Rsn").close("StsRsnInf");
  }
  x.close("OrgnlGrpInfAndSts");
  // One OrgnlPmtInfAndSts per payment information, in the order of the document.
  std::vector<std::string> infos;
  for (const CreditEntry& e : answers) {
    if (std::find(infos.begin(), infos.end(), e.id) == infos.end()) infos.push_back(e.id);
  }
  for (const std::string& info : infos) {
    x.open("OrgnlPmtInfAndSts").leaf("OrgnlPmtInfId", or_not_provided(info));
    for (const CreditEntry& e : answers) {
      if (e.id != info) continue;
      x.open("TxInfAndSts")
          .leaf("StsId", compact(e.transfer.id))
          .leaf("OrgnlEndToEndId", or_not_provided(e.transfer.end_to_end_id))
          .leaf("TxSts", e.status);
      if (!e.reason_code.empty()) {
        x.open("StsRsnInf").open("Rsn").leaf("Cd", e.reason_code).close("Rsn");
        x.close("StsRsnInf");
      }
      x.close("TxInfAndSts");
    }
    x.close("OrgnlPmtInfAndSts");
  }
  return x.close("CstmrPmtStsRpt").raw("</Document>").take();
}

}  // namespace ledger::http::pacs
