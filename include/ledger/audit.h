// The audit trail: who did what and when (migrations/0005_audit.sql). The REST API records
// every back-office write attempt, whatever its answer, through an AuditSink; GET /v1/audit reads
// it back through the LedgerReader. Entries never contain a key, a PAN or a request body.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ledger {

struct AuditEntry {
  std::int64_t id = 0;  // assigned by PostgreSQL
  std::string at;       // RFC 3339, assigned by PostgreSQL when written
  std::string actor;    // "key:<id>", "cli:<user>" or "anonymous" (no valid key)
  std::string actor_name;
  std::string action;  // "POST /v1/transfers"
  std::string target;  // "/v1/transfers"
  int status = 0;
  std::string detail;
  // The writer could not store this entry as it was (bytes PostgreSQL refuses): its text
  // fields hold ledger::escape_bytes of what was recorded.
  bool set_aside = false;
  // What the write created or changed: its path ("/v1/accounts/<id>") and id; empty when the
  // request named none. Taken from the path or the answer's "id", never from a body sent in.
  std::string resource;
  std::string resource_id;
};

struct AuditQuery {
  std::int64_t before_id = INT64_MAX;  // cursor: entries older than this, newest first
  std::uint32_t limit = 100;
  std::string actor;        // empty: everyone
  std::string resource_id;  // empty: any resource
};
struct AuditPage {
  std::vector<AuditEntry> entries;
  bool more = false;
};

// Never waits. false: the entry could not be queued (the writer's queue is full); the caller
// counts it. Entries reach PostgreSQL within about a second.
class AuditSink {
 public:
  virtual bool record(AuditEntry entry) = 0;

 protected:
  ~AuditSink() = default;
};

}  // namespace ledger
