#include "journal/migrator.h"

#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "journal/pg.h"
#include "ledger/limits.h"

namespace ledger {
namespace {

namespace fs = std::filesystem;

// pg_advisory_lock key shared by every ledgerd migrating the same database (a fixed constant).
constexpr const char* migration_lock_key = "7108834015175780";

bool parse_file_name(const std::string& name, int* version) {
  // NNNN_name.sql: four digits, underscore, at least one character of name.
  if (name.size() < 10 || name.substr(name.size() - 4) != ".sql" || name[4] != '_') return false;
  for (int i = 0; i < 4; ++i) {
    if (name[static_cast<std::size_t>(i)] < '0' || name[static_cast<std::size_t>(i)] > '9') {
      return false;
    }
  }
  return parse_number(std::string_view(name).substr(0, 4), version) && *version > 0;
}

Status read_file(const fs::path& path, std::string* out) {
  std::error_code error;
  const auto size = fs::file_size(path, error);
  if (error) return Status::error("cannot read " + path.string() + ": " + error.message());
  if (size == 0) return Status::error("migration " + path.filename().string() + " is empty");
  if (size > limits::migration_file_bytes_max) {
    return Status::error("migration " + path.filename().string() + " is larger than " +
                         std::to_string(limits::migration_file_bytes_max) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return Status::error("cannot read " + path.string());
  *out = text.str();
  return Status();
}

Status ensure_table(PGconn* conn) {
  return pg::exec(conn,
                  "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " version integer PRIMARY KEY,"
                  " file_name text NOT NULL,"
                  " checksum text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())");
}

Status read_applied(PGconn* conn, std::map<int, std::pair<std::string, std::string>>* applied) {
  pg::Result rows;
  if (Status s = pg::exec_params(conn, "SELECT version, file_name, checksum FROM schema_migrations",
                                 {}, &rows);
      !s.ok()) {
    return s;
  }
  for (int row = 0; row < PQntuples(rows.get()); ++row) {
    int version = 0;
    if (!pg::number(rows.get(), row, 0, &version))
      return Status::error("schema_migrations holds a version that is not a number");
    (*applied)[version] = {PQgetvalue(rows.get(), row, 1), PQgetvalue(rows.get(), row, 2)};
  }
  return Status();
}

Status apply_one(PGconn* conn, const MigrationFile& file) {
  if (Status s = pg::exec(conn, "BEGIN"); !s.ok()) return s;
  Status status = pg::exec(conn, file.sql);
  if (status.ok()) {
    status = pg::exec_params(
        conn, "INSERT INTO schema_migrations (version, file_name, checksum) VALUES ($1, $2, $3)",
        {std::to_string(file.version), file.file_name, file.checksum_hex}, nullptr);
  }
  if (status.ok()) status = pg::exec(conn, "COMMIT");
  if (!status.ok()) {
    (void)pg::exec(conn, "ROLLBACK");
    return Status::error("migration " + file.file_name + " failed: " + status.message());
  }
  return Status();
}

Status check_and_apply(PGconn* conn, const std::vector<MigrationFile>& files,
                       MigrationReport* report) {
  if (Status s = ensure_table(conn); !s.ok()) return s;
  std::map<int, std::pair<std::string, std::string>> applied;
  if (Status s = read_applied(conn, &applied); !s.ok()) return s;
  for (const auto& [version, recorded] : applied) {
    const auto it = std::find_if(files.begin(), files.end(),
                                 [v = version](const MigrationFile& f) { return f.version == v; });
    if (it == files.end()) {
      return Status::error("database has migration " + recorded.first +
                           " applied but the migrations folder has no file for version " +
                           std::to_string(version) + " (is this ledgerd older than the database?)");
    }
    if (it->checksum_hex != recorded.second) {
      return Status::error("migration " + it->file_name +
                           " was changed after it was applied (checksum " + it->checksum_hex +
                           ", recorded " + recorded.second + "); add a new migration instead");
    }
  }
  for (const MigrationFile& file : files) {
    if (applied.count(file.version) != 0) {
      ++report->already_applied;
    } else {
      if (Status s = apply_one(conn, file); !s.ok()) return s;
      ++report->applied_now;
    }
    report->latest_version = file.version;
  }
  return Status();
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string text;
  for (unsigned int i = 0; i < length; ++i) {
    text += hex[digest[i] >> 4];
    text += hex[digest[i] & 0xF];
  }
  return text;
}

Status load_migrations(const std::string& directory, std::vector<MigrationFile>* out) {
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    return Status::error("migrations folder not found: " + directory);
  }
  std::vector<MigrationFile> files;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".sql") continue;
    MigrationFile file;
    file.file_name = name;
    if (!parse_file_name(name, &file.version)) {
      return Status::error("migration file name must be NNNN_name.sql: " + name);
    }
    if (Status s = read_file(entry.path(), &file.sql); !s.ok()) return s;
    file.checksum_hex = sha256_hex(file.sql);
    files.push_back(std::move(file));
    if (files.size() > limits::migration_files_max) return Status::error("too many migrations");
  }
  if (error) return Status::error("cannot list " + directory + ": " + error.message());
  std::sort(files.begin(), files.end(),
            [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < files.size(); ++i) {
    if (files[i].version == files[i - 1].version) {
      return Status::error("two migrations share version " + std::to_string(files[i].version) +
                           ": " + files[i - 1].file_name + " and " + files[i].file_name);
    }
  }
  if (files.empty())
    return Status::error("migrations folder has no NNNN_name.sql files: " + directory);
  *out = std::move(files);
  return Status();
}

Status apply_migrations(PGconn* conn, const std::vector<MigrationFile>& files,
                        MigrationReport* report) {
  *report = MigrationReport{};
  if (Status s = pg::exec(conn, std::string("SELECT pg_advisory_lock(") + migration_lock_key + ")");
      !s.ok()) {
    return s;
  }
  Status status = check_and_apply(conn, files, report);
  (void)pg::exec(conn, std::string("SELECT pg_advisory_unlock(") + migration_lock_key + ")");
  return status;
}

}  // namespace ledger
