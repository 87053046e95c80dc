#include "journal/late_approvals.h"

#include <string>
#include <string_view>

#include "ledger/ids.h"

namespace ledger {

Status find_late_approvals(PGconn* conn, std::uint64_t since_ns, std::uint32_t margin_ms,
                           std::uint32_t limit, LateApprovals* found) {
  *found = LateApprovals{};
  pg::Result setting;
  if (Status s =
          pg::exec_params(conn, "SELECT current_setting('track_commit_timestamp')", {}, &setting);
      !s.ok()) {
    return s;
  }
  found->by_commit_time =
      PQntuples(setting.get()) == 1 && std::string_view(PQgetvalue(setting.get(), 0, 0)) == "on";
  // A row's commit time, in ns since the epoch: PostgreSQL's (the row's xmin), or the engine's
  // apply time as the lower bound it is.
  const std::string late_after =
      found->by_commit_time ? "(extract(epoch FROM pg_xact_commit_timestamp(m.xmin)) * 1e9)::bigint"
                            : "m.ts";
  pg::Result rows;
  if (Status s = pg::exec_params(
          conn,
          "SELECT m.transfer_id::text, m.answer_by FROM card_messages m JOIN transfers t ON t.ts = "
          "m.ts "
          "WHERE m.ts >= $1::bigint AND m.answer_by > 0 AND t.result = 0 AND " +
              late_after + " > m.answer_by + $2::bigint * 1000000 ORDER BY m.ts LIMIT $3",
          {std::to_string(since_ns), std::to_string(margin_ms), std::to_string(limit)}, &rows);
      !s.ok()) {
    return s;
  }
  for (int i = 0; i < PQntuples(rows.get()); ++i) {
    const auto id = parse_uuid(PQgetvalue(rows.get(), i, 0));
    if (!id) return Status::error("card_messages holds a transfer id that does not parse");
    std::int64_t answer_by = 0;
    if (!pg::number(rows.get(), i, 1, &answer_by)) {
      return Status::error("card_messages holds an answer_by that does not parse");
    }
    found->transfers.push_back({TransferId{*id}, static_cast<std::uint64_t>(answer_by)});
  }
  return Status();
}

}  // namespace ledger
