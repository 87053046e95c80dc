// Schema migrations: migrations/NNNN_name.sql applied in order, each in its own transaction,
// recorded with a SHA-256 checksum in schema_migrations. Re-running is a no-op; an applied
// migration whose file changed, or one the folder no longer has, is an error naming it.
#pragma once

#include <libpq-fe.h>

#include <string>
#include <vector>

#include "ledger/status.h"

namespace ledger {

struct MigrationFile {
  int version = 0;        // NNNN
  std::string file_name;  // "0001_metadata.sql"
  std::string sql;
  std::string checksum_hex;  // SHA-256 of the file's bytes
};

struct MigrationReport {
  int applied_now = 0;      // migrations run by this call
  int already_applied = 0;  // found recorded with a matching checksum
  int latest_version = 0;
};

// Reads every *.sql file of `directory`, sorted by version. Fails on a missing folder, a
// .sql file not named NNNN_name.sql, a duplicate version, an empty or oversized file.
Status load_migrations(const std::string& directory, std::vector<MigrationFile>* out);

// Applies what is not yet applied, under an advisory lock so two ledgerd never race.
Status apply_migrations(PGconn* conn, const std::vector<MigrationFile>& files,
                        MigrationReport* report);

std::string sha256_hex(const std::string& bytes);

}  // namespace ledger
