# Helpers to run a private PostgreSQL 15 cluster on a free loopback port.
# PostgreSQL refuses to run as root, so under root every server command runs as `postgres`.
# Source this file; it defines pg_start DATADIR LOGFILE [extra -c settings...] and pg_stop DATADIR.
# pg_start exports PGHOST, PGPORT, PGUSER for the new cluster.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

pg_as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pg_start() {
  local datadir=$1 logfile=$2
  shift 2
  local settings=("$@")
  if [[ $(id -u) -eq 0 ]]; then
    mkdir -p "$datadir"
    chown postgres:postgres "$datadir"
    touch "$logfile" && chown postgres:postgres "$logfile"
    if ! runuser -u postgres -- test -w "$datadir"; then
      echo "pg: user postgres cannot write $datadir (a parent folder is not searchable)" >&2
      return 1
    fi
  fi
  if [[ ! -f "$datadir/PG_VERSION" ]]; then
    pg_as_owner "$PG_BIN/initdb" -D "$datadir" -U postgres --auth=trust -E UTF8 \
      --locale=C.UTF-8 >/dev/null || { echo "pg: initdb failed" >&2; return 1; }
  fi
  local attempt port options
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 30000))
    pg_port_free "$port" || continue
    options="-p $port -k $datadir -c listen_addresses=127.0.0.1 -c max_connections=300"
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
  local datadir=$1
  [[ -f "$datadir/postmaster.pid" ]] || return 0
  pg_as_owner "$PG_BIN/pg_ctl" -D "$datadir" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}
