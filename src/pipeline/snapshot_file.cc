#include "pipeline/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "ledger/checksum.h"

namespace ledger::pipeline {
namespace {

constexpr char magic[8] = {'L', 'D', 'G', 'S', 'N', 'A', 'P', '\0'};
constexpr std::uint64_t file_format = 2;  // 2: the ledger's identity in the header
constexpr std::size_t ledger_id_bytes = 48;
constexpr std::size_t header_bytes = 4096;
constexpr std::size_t sections_max = 32;
constexpr std::size_t chunk_bytes = std::size_t{32} << 20;
constexpr std::uint32_t encoded_region = 0;

struct Section {
  std::uint64_t region = 0;
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t checksum = 0;
};

struct Header {
  char magic[8];
  std::uint64_t format;
  std::uint64_t id;
  std::uint64_t events_seq;
  std::uint64_t last_ts;
  std::int64_t epoch;
  std::uint64_t layout;
  std::uint64_t state_hash;
  std::uint64_t system_identifier;
  char ledger_id[ledger_id_bytes];  // NUL-terminated
  std::uint64_t section_count;
  Section sections[sections_max];
};
static_assert(sizeof(Header) + sizeof(std::uint64_t) <= header_bytes);

std::size_t aligned(std::size_t n) { return (n + header_bytes - 1) / header_bytes * header_bytes; }

std::uint64_t chunk_checksum(const void* data, std::size_t bytes, std::size_t chunk) {
  return xxh64(data, bytes, chunk);
}

// XXH64 over the chunks' checksums (see snapshot_file.h).
std::uint64_t section_checksum(const std::vector<std::uint64_t>& chunks) {
  return xxh64(chunks.data(), chunks.size() * sizeof(std::uint64_t));
}

std::size_t chunk_count(std::uint64_t bytes) {
  return static_cast<std::size_t>((bytes + chunk_bytes - 1) / chunk_bytes);
}

bool write_all(int fd, const void* data, std::size_t bytes, off_t offset) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = pwrite(fd, p, std::min(bytes, chunk_bytes), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t bytes, off_t offset) {
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = pread(fd, p, bytes, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    bytes -= static_cast<std::size_t>(n);
    offset += n;
  }
  return true;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string hex(std::uint64_t v) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

}  // namespace

std::string snapshot_file_prefix(const LedgerIdentity& ledger) {
  return "snapshot-" + ledger.ledger_id + "-";
}

std::string snapshot_file_name(const LedgerIdentity& ledger, std::uint64_t events_seq,
                               std::uint64_t id) {
  return snapshot_file_prefix(ledger) + std::to_string(events_seq) + "-" + hex(id) + ".ledgersnap";
}

int write_snapshot_file(const std::string& path, const engine::Engine& engine,
                        const std::vector<engine::Engine::SnapshotRegion>& regions,
                        const std::string& encoded, SnapshotInfo* info) {
  if (regions.size() + 1 > sections_max) return EINVAL;
  if (info->ledger.ledger_id.empty() || info->ledger.ledger_id.size() >= ledger_id_bytes) {
    return EINVAL;
  }
  const std::string temporary = path + ".tmp";
  Fd fd(open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return errno;
  Header header{};
  std::memcpy(header.magic, magic, sizeof magic);
  header.format = file_format;
  header.id = info->id;
  header.events_seq = info->events_seq;
  header.last_ts = info->last_ts;
  header.epoch = info->epoch;
  header.layout = info->layout;
  header.state_hash = engine.state_hash();
  header.system_identifier = info->ledger.system_identifier;
  std::memcpy(header.ledger_id, info->ledger.ledger_id.data(), info->ledger.ledger_id.size());
  std::size_t offset = header_bytes;
  std::vector<std::uint64_t> chunks;
  const auto add = [&](std::uint32_t region, const void* data, std::size_t bytes) {
    Section& s = header.sections[header.section_count++];
    s.region = region;
    s.offset = offset;
    s.bytes = bytes;
    chunks.clear();
    const auto* p = static_cast<const char*>(data);
    for (std::size_t at = 0, i = 0; at < bytes; at += chunk_bytes, ++i) {
      chunks.push_back(chunk_checksum(p + at, std::min(chunk_bytes, bytes - at), i));
    }
    s.checksum = section_checksum(chunks);
    if (bytes > 0 && !write_all(fd.get(), data, bytes, static_cast<off_t>(offset))) return false;
    offset = aligned(offset + bytes);
    return true;
  };
  for (const engine::Engine::SnapshotRegion& r : regions) {
    if (!add(r.id, r.data, r.bytes)) return errno != 0 ? errno : EIO;
  }
  if (!add(encoded_region, encoded.data(), encoded.size())) return errno != 0 ? errno : EIO;
  char block[header_bytes] = {};
  std::memcpy(block, &header, sizeof header);
  const std::uint64_t checksum = xxh64(block, header_bytes - sizeof checksum);
  std::memcpy(block + header_bytes - sizeof checksum, &checksum, sizeof checksum);
  if (!write_all(fd.get(), block, header_bytes, 0)) return errno != 0 ? errno : EIO;
  if (ftruncate(fd.get(), static_cast<off_t>(offset)) != 0 || fdatasync(fd.get()) != 0) {
    return errno;
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) return errno;
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  Fd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0 || fsync(dir_fd.get()) != 0) return errno;
  info->state_hash = header.state_hash;
  info->checksum = checksum;
  info->bytes = offset;
  return 0;
}

namespace {

Status read_header(int fd, const std::string& path, Header* header, SnapshotInfo* info) {
  char block[header_bytes];
  if (!read_all(fd, block, header_bytes, 0)) {
    return Status::error("cannot read the header of " + path);
  }
  std::uint64_t checksum = 0;
  std::memcpy(&checksum, block + header_bytes - sizeof checksum, sizeof checksum);
  if (std::memcmp(block, magic, sizeof magic) != 0) {
    return Status::error(path + " is not a ledgerd snapshot");
  }
  if (checksum != xxh64(block, header_bytes - sizeof checksum)) {
    return Status::error("the header checksum of " + path + " does not match");
  }
  std::memcpy(header, block, sizeof *header);
  if (header->format != file_format) {
    return Status::error(path + " has snapshot format " + std::to_string(header->format));
  }
  if (header->section_count > sections_max) {
    return Status::error(path + " lists too many sections");
  }
  info->id = header->id;
  info->events_seq = header->events_seq;
  info->last_ts = header->last_ts;
  info->epoch = header->epoch;
  info->layout = header->layout;
  info->state_hash = header->state_hash;
  info->ledger.system_identifier = header->system_identifier;
  info->ledger.ledger_id.assign(header->ledger_id,
                                strnlen(header->ledger_id, sizeof header->ledger_id));
  info->checksum = checksum;
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::error("cannot stat " + path);
  info->bytes = static_cast<std::uint64_t>(st.st_size);
  return Status();
}

}  // namespace

Status read_snapshot_header(const std::string& path, SnapshotInfo* info) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::error("cannot open " + path + ": " + std::strerror(errno));
  Header header{};
  return read_header(fd.get(), path, &header, info);
}

Status restore_snapshot_file(const std::string& path, const SnapshotInfo& expected,
                             engine::Engine* engine, unsigned threads) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Status::error("cannot open " + path + ": " + std::strerror(errno));
  Header header{};
  SnapshotInfo info;
  if (Status s = read_header(fd.get(), path, &header, &info); !s.ok()) return s;
  if (!(info.ledger == expected.ledger)) {
    return Status::error(path + " belongs to another ledger (ledger " + info.ledger.ledger_id +
                         " of PostgreSQL system " + std::to_string(info.ledger.system_identifier) +
                         "; this is ledger " + expected.ledger.ledger_id + " of system " +
                         std::to_string(expected.ledger.system_identifier) + ")");
  }
  if (info.id != expected.id || info.checksum != expected.checksum ||
      info.events_seq != expected.events_seq || info.last_ts != expected.last_ts ||
      info.bytes != expected.bytes) {
    return Status::error(path +
                         " is not the snapshot the database lists (id, checksum, "
                         "position or size differ)");
  }
  if (info.layout != engine->snapshot_layout()) {
    return Status::error(path + " was written for another engine layout or capacity");
  }
  // Every section must lie inside the file, in order, without overlap.
  std::uint64_t end = header_bytes;
  for (std::uint64_t i = 0; i < header.section_count; ++i) {
    const Section& s = header.sections[i];
    if (s.offset < end || s.bytes > info.bytes || s.offset > info.bytes - s.bytes) {
      return Status::error(path + " has a section outside the file");
    }
    end = s.offset + s.bytes;
  }
  engine->clear();
  const auto fail = [engine](std::string message) {
    engine->clear();
    return Status::error(std::move(message));
  };
  // Where each section goes, then every 32 MiB chunk read and checked on `threads` threads.
  struct Chunk {
    void* to;
    std::uint64_t offset;
    std::size_t bytes;
    std::size_t section;
    std::size_t index;
  };
  std::vector<Chunk> work;
  std::vector<std::vector<std::uint64_t>> sums(header.section_count);
  std::string encoded;
  for (std::size_t i = 0; i < header.section_count; ++i) {
    const Section& s = header.sections[i];
    void* to = nullptr;
    if (s.region == encoded_region) {
      if (s.bytes > (std::uint64_t{1} << 30)) return fail(path + ": the encoded part is too big");
      encoded.resize(static_cast<std::size_t>(s.bytes));
      to = encoded.data();
    } else {
      to = engine->restore_region(static_cast<std::uint32_t>(s.region),
                                  static_cast<std::size_t>(s.bytes));
      if (to == nullptr && s.bytes > 0) {
        return fail(path + ": region " + std::to_string(s.region) + " does not fit this engine");
      }
    }
    sums[i].resize(chunk_count(s.bytes));
    for (std::size_t c = 0; c < sums[i].size(); ++c) {
      const std::size_t at = c * chunk_bytes;
      work.push_back(Chunk{
          static_cast<char*>(to) + at, s.offset + at,
          static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, s.bytes - at)), i, c});
    }
  }
  // Largest first would not help: chunks are equal but the last of each section.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> read_failed{false};
  const auto worker = [&] {
    for (std::size_t i = next++; i < work.size() && !read_failed; i = next++) {
      const Chunk& c = work[i];
      if (!read_all(fd.get(), c.to, c.bytes, static_cast<off_t>(c.offset))) {
        read_failed = true;
        return;
      }
      sums[c.section][c.index] = chunk_checksum(c.to, c.bytes, c.index);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < std::max(1u, threads); ++t) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (read_failed) return fail("cannot read " + path + " (truncated?)");
  for (std::size_t i = 0; i < header.section_count; ++i) {
    if (section_checksum(sums[i]) != header.sections[i].checksum) {
      return fail(path + ": the checksum of section " + std::to_string(i) + " (region " +
                  std::to_string(header.sections[i].region) + ") does not match");
    }
  }
  if (!engine->restore_encoded(encoded)) return fail(path + ": the encoded part is malformed");
  if (engine->state_hash() != header.state_hash) {
    return fail(path + ": the restored state does not hash to the snapshot's state hash");
  }
  return Status();
}

}  // namespace ledger::pipeline
