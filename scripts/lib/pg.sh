# Helpers to run a private PostgreSQL 15 cluster on a free loopback port.
# PostgreSQL refuses to run as root, so under root every server command runs as `postgres`.
# Source this file; it defines:
#   pg_start DATADIR LOGFILE [extra -c settings...]  starts (initdb first if needed) and exports
#       PGHOST, PGPORT, PGUSER, and PG_DATADIR / PG_LOGFILE: where the cluster really is. As
#       root, when the postgres user cannot reach DATADIR (a clone inside root's home folder,
#       mode 700), the cluster goes to PG_FALLBACK_ROOT/<hash of DATADIR> instead (the same
#       place every time for the same DATADIR, so data persists) and a note says where.
#   pg_stop [DATADIR]  stops the cluster (default: PG_DATADIR).

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_FALLBACK_ROOT=${PG_FALLBACK_ROOT:-/var/tmp/ledgerd-pg}

pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    # From a folder postgres may enter (the caller's may be closed to it); paths are absolute.
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# pg_reachable DIR: can the postgres user create files in DIR (made and handed over first)?
pg_reachable() {
  local dir=$1
  mkdir -p "$dir" && chown postgres:postgres "$dir" && runuser -u postgres -- test -w "$dir" -a -x "$dir"
}

# pg_place DATADIR LOGFILE: sets PG_DATADIR and PG_LOGFILE to where the cluster can live.
pg_place() {
  PG_DATADIR=$1
  PG_LOGFILE=$2
  [[ $(id -u) -eq 0 ]] || return 0
  if pg_reachable "$PG_DATADIR" && runuser -u postgres -- test -x "$(dirname "$PG_LOGFILE")"; then
    touch "$PG_LOGFILE" && chown postgres:postgres "$PG_LOGFILE"
    return 0
  fi
  # A parent folder is closed to postgres: keep the cluster outside it. Only this folder under
  # PG_FALLBACK_ROOT is ours; the root itself is shared and never removed.
  local hash
  hash=$(printf '%s' "$(realpath -m "$1")" | sha256sum | cut -c1-16)
  mkdir -p "$PG_FALLBACK_ROOT" && chmod 755 "$PG_FALLBACK_ROOT"
  PG_DATADIR=$PG_FALLBACK_ROOT/$hash/pg
  PG_LOGFILE=$PG_FALLBACK_ROOT/$hash/postgres.log
  mkdir -p "$PG_FALLBACK_ROOT/$hash" && chmod 755 "$PG_FALLBACK_ROOT/$hash"
  if ! pg_reachable "$PG_DATADIR"; then
    echo "pg: user postgres cannot write $1 nor $PG_DATADIR" >&2
    return 1
  fi
  touch "$PG_LOGFILE" && chown postgres:postgres "$PG_LOGFILE"
  echo "pg: user postgres cannot enter $(dirname "$1") (a parent folder is closed to it);" \
    "the cluster is in $PG_DATADIR, its log in $PG_LOGFILE" >&2
}

pg_start() {
  local settings=("${@:3}")
  pg_place "$1" "$2" || return 1
  export PG_DATADIR PG_LOGFILE
  local datadir=$PG_DATADIR logfile=$PG_LOGFILE
  if [[ ! -f "$datadir/PG_VERSION" ]]; then
    pg_as_owner "$PG_BIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null || { echo "pg: initdb failed" >&2; return 1; }
  fi
  local attempt port options
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 30000))
    pg_port_free "$port" || continue
    # track_commit_timestamp: late approvals are found by their commit time (docs/durability.md).
    options="-p $port -k $datadir -c listen_addresses=127.0.0.1 -c max_connections=300"
    options+=" -c track_commit_timestamp=on"
    for s in "${settings[@]}"; do options+=" -c $s"; done
    if pg_as_owner "$PG_BIN/pg_ctl" -D "$datadir" -l "$logfile" -w -t 60 -o "$options" start \
      >/dev/null 2>&1; then
      export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
      return 0
    fi
  done
  echo "pg: could not start PostgreSQL (see $logfile)" >&2
  tail -n 20 "$logfile" >&2 || true
  return 1
}

pg_stop() {
  local datadir=${1:-${PG_DATADIR:-}}
  [[ -n "$datadir" && -f "$datadir/postmaster.pid" ]] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# pg_remove: stops the cluster and deletes its folder (throwaway clusters of test and bench),
# also when it had to live under PG_FALLBACK_ROOT.
pg_remove() {
  pg_stop
  if [[ -n "${PG_DATADIR:-}" && "$PG_DATADIR" == "$PG_FALLBACK_ROOT"/* ]]; then
    rm -rf "$(dirname "$PG_DATADIR")"
  fi
}
