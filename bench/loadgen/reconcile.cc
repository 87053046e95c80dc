// Reconciliation after a run: what each system acknowledged is in its database, and its
// balances add up.
#include <libpq-fe.h>

#include <boost/beast/http/verb.hpp>
#include <cstdio>
#include <map>

#include "ledger/parse.h"
#include "loadgen.h"

namespace ledger::bench {
namespace {

namespace bhttp = boost::beast::http;

std::int64_t sql_count(PGconn* conn, const std::string& sql, const std::vector<std::string>& ids) {
  std::string array = "{";
  for (std::size_t i = 0; i < ids.size(); ++i) array += (i ? "," : "") + ids[i];
  array += "}";
  const char* params[] = {array.c_str()};
  PGresult* r = PQexecParams(conn, sql.c_str(), 1, nullptr, params, nullptr, nullptr, 0);
  std::int64_t n = -1;
  if (PQresultStatus(r) != PGRES_TUPLES_OK || !ledger::parse_number(PQgetvalue(r, 0, 0), &n))
    std::fprintf(stderr, "loadgen: %s", PQerrorMessage(conn));
  PQclear(r);
  return n;
}

std::vector<std::string> texts(const std::vector<TransferId>& ids) {
  std::vector<std::string> out;
  out.reserve(ids.size());
  for (const TransferId& id : ids) out.push_back(ledger::to_string(id));
  return out;
}

}  // namespace

// ledgerd: every acknowledged effect is in the journal exactly once (ids are primary keys), no
// 91'd hold survives, and ledgerd's balances equal the sums of the journal's postings.
std::vector<Check> reconcile_ledgerd(const Options& o, const Stats& s) {
  std::vector<Check> checks;
  PGconn* conn = PQconnectdb(o.database.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    checks.push_back({"database", false, PQerrorMessage(conn)});
    PQfinish(conn);
    return checks;
  }
  const auto expect = [&](const std::string& name, const std::vector<std::string>& ids,
                          const std::string& sql, std::int64_t want) {
    const std::int64_t got = sql_count(conn, sql, ids);
    checks.push_back(
        {name, got == want, std::to_string(got) + " of " + std::to_string(want) + " found"});
  };
  expect("approved authorizations are open holds in the journal", texts(s.approved),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 2 "
         "<> 0",
         static_cast<std::int64_t>(s.approved.size()));
  expect("approved captures are postings in the journal", texts(s.captured),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 4 "
         "<> 0",
         static_cast<std::int64_t>(s.captured.size()));
  expect("acknowledged reversals are voids in the journal", texts(s.reversed),
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0 AND flags & 8 "
         "<> 0",
         static_cast<std::int64_t>(s.reversed.size()));
  expect("created (201) transfers are in the journal", s.transfers_ok,
         "SELECT count(*) FROM transfers WHERE id = ANY($1::uuid[]) AND result = 0",
         static_cast<std::int64_t>(s.transfers_ok.size()));
  std::vector<std::string> late_voids;
  for (const TransferId& id : s.busy) late_voids.push_back(ledger::to_string(id));
  expect("every hold answered 91 that committed was voided (deadline rule)", late_voids,
         "SELECT count(*) FROM transfers h WHERE h.id = ANY($1::uuid[]) AND h.result = 0 AND NOT "
         "EXISTS (SELECT 1 FROM transfers v WHERE v.pending_id = h.id AND v.result = 0 AND "
         "v.flags & 8 <> 0)",
         0);
  // Posted balances from the journal (posts and voids name no accounts: take the hold's).
  PGresult* r = PQexec(
      conn,
      "WITH t AS (SELECT CASE WHEN t.pending_id IS NULL THEN t.debit_account_id ELSE "
      "p.debit_account_id END AS dr, CASE WHEN t.pending_id IS NULL THEN t.credit_account_id "
      "ELSE p.credit_account_id END AS cr, t.amount_effective AS amount FROM transfers t LEFT "
      "JOIN transfers p ON p.id = t.pending_id WHERE t.result = 0 AND t.flags & (2 | 8) = 0), "
      "d AS (SELECT dr AS id, sum(amount) AS s FROM t GROUP BY dr), "
      "c AS (SELECT cr AS id, sum(amount) AS s FROM t GROUP BY cr) "
      "SELECT a.id, COALESCE(d.s, 0), COALESCE(c.s, 0) FROM accounts a "
      "LEFT JOIN d ON d.id = a.id LEFT JOIN c ON c.id = a.id");
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> journal;
  if (PQresultStatus(r) == PGRES_TUPLES_OK) {
    for (int row = 0; row < PQntuples(r); ++row) {
      std::int64_t debits = 0;
      std::int64_t credits = 0;
      if (!ledger::parse_number(PQgetvalue(r, row, 1), &debits) ||
          !ledger::parse_number(PQgetvalue(r, row, 2), &credits)) {
        checks.push_back({"journal sums", false, "a sum is beyond 64 bits"});
      }
      journal[PQgetvalue(r, row, 0)] = {debits, credits};
    }
  } else {
    checks.push_back({"journal sums", false, PQerrorMessage(conn)});
  }
  PQclear(r);
  PQfinish(conn);
  std::int64_t mismatched = 0;
  std::int64_t debits = 0, credits = 0, debits_pending = 0, credits_pending = 0;
  // After a failover run the standby serves.
  const int http_port = o.kill_pid > 0 ? o.http_port_standby : o.http_port;
  for (const auto& [id, want] : journal) {  // every account, the networks' settlement included
    std::string body;
    if (rest(http_port, o.key, bhttp::verb::get, "/v1/accounts/" + id, nullptr, &body) != 200) {
      ++mismatched;
      continue;
    }
    const json b = json::parse(body)["balances"];
    if (b["debits_posted"].get<std::int64_t>() != want.first ||
        b["credits_posted"].get<std::int64_t>() != want.second) {
      ++mismatched;
    }
    debits += b["debits_posted"].get<std::int64_t>();
    credits += b["credits_posted"].get<std::int64_t>();
    debits_pending += b["debits_pending"].get<std::int64_t>();
    credits_pending += b["credits_pending"].get<std::int64_t>();
  }
  checks.push_back(
      {"each account's posted balance equals its postings in the journal", mismatched == 0,
       std::to_string(mismatched) + " of " + std::to_string(journal.size()) + " accounts differ"});
  checks.push_back({"debits equal credits (posted and pending)",
                    debits == credits && debits_pending == credits_pending,
                    "posted " + std::to_string(debits) + " / " + std::to_string(credits) +
                        ", pending " + std::to_string(debits_pending) + " / " +
                        std::to_string(credits_pending)});
  return checks;
}

std::vector<Check> reconcile_baseline(const Options& o, const Stats& s) {
  std::vector<Check> checks;
  PGconn* conn = PQconnectdb(o.baseline.c_str());
  const auto scalar = [&](const char* sql) -> std::int64_t {
    PGresult* r = PQexec(conn, sql);
    std::int64_t n = -1;
    if (PQresultStatus(r) != PGRES_TUPLES_OK || !ledger::parse_number(PQgetvalue(r, 0, 0), &n))
      n = -1;
    PQclear(r);
    return n;
  };
  const auto codes = s.codes[static_cast<std::size_t>(Kind::auth)];
  const std::int64_t approved = codes.count("00") ? static_cast<std::int64_t>(codes.at("00")) : 0;
  const std::int64_t holds = scalar("SELECT count(*) FROM bl_holds");
  checks.push_back(
      {"approved authorizations are holds exactly once", holds == approved,
       std::to_string(holds) + " holds for " + std::to_string(approved) + " approvals"});
  const std::int64_t off = scalar(
      "SELECT count(*) FROM bl_accounts a WHERE balance <> (CASE WHEN id = 0 THEN 0 ELSE "
      "100000000 END) + COALESCE((SELECT sum(amount) FROM bl_postings p WHERE p.account = a.id), "
      "0) OR held <> COALESCE((SELECT sum(amount) FROM bl_holds h WHERE h.account = a.id AND "
      "state = 'held'), 0)");
  checks.push_back({"each balance equals its postings and each held amount its open holds",
                    off == 0, std::to_string(off) + " accounts differ"});
  const std::int64_t sum = scalar("SELECT COALESCE(sum(amount), 0) FROM bl_postings");
  checks.push_back({"debits equal credits", sum == 0, "postings sum to " + std::to_string(sum)});
  PQfinish(conn);
  return checks;
}

}  // namespace ledger::bench
