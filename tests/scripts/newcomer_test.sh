#!/usr/bin/env bash
# The two README commands where newcomers run them: a fresh clone of this repository's
# committed tree inside a folder the postgres user cannot enter (mode 700, like root's home
# folder), as root. ./scripts/run must start, print its endpoints and a development key, answer
# /ready, and stop ledgerd and its PostgreSQL on Ctrl-C (SIGINT to its process group);
# ./scripts/test must pass (a quick subset of the suite, to keep CI short). Both build only
# the targets they need (ledgerd; ledgerd and integration_test), from the compiler cache
# every checkout on this machine shares (scripts/lib/build.sh). Exit 77 (ctest
# SKIP) when not root: as another user PostgreSQL runs as that user and the case cannot occur.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
  echo "newcomer_test: skipped (needs root: the mode-700 case is root's)"
  exit 77
fi

home=$(mktemp -d "${HOME:-/root}/ledgerd-newcomer.XXXXXX")
chmod 700 "$home"
run_pid=""
cleanup() {
  if [[ -n "$run_pid" ]] && kill -0 "$run_pid" 2>/dev/null; then
    kill -INT -- "-$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
  fi
  # Where scripts/run put the cluster it keeps between runs (see scripts/lib/pg.sh).
  if [[ -f "$home/run.log" ]]; then
    local place
    place=$(sed -n 's/.*the cluster is in \([^,]*\)\/pg,.*/\1/p' "$home/run.log" | head -n 1)
    [[ -n "$place" && -d "$place" ]] && rm -rf "$place"
  fi
  rm -rf "$home"
}
trap cleanup EXIT

git clone --quiet --no-hardlinks "$repo" "$home/ledgerd"
cd "$home/ledgerd"
# Ports below the kernel's ephemeral range (32768 and up), which the other tests' servers and
# clients use, so a port found free here is not taken by them a moment later.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 12000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

echo "newcomer_test: ./scripts/run in $home/ledgerd"
ready=0
for attempt in 1 2 3; do  # a port taken between the check and the bind: try others
  http_port=$(free_port)
  iso_port=$(free_port)
  LEDGER_HTTP_LISTEN=127.0.0.1:$http_port LEDGER_ISO8583_LISTEN=127.0.0.1:$iso_port \
    setsid ./scripts/run </dev/null >"$home/run.log" 2>&1 &
  run_pid=$!
  for _ in $(seq 1 1800); do  # a cold build comes first: up to 15 minutes
    if ! kill -0 "$run_pid" 2>/dev/null; then break; fi
    if grep -q "event=serving" "$home/run.log" &&
      curl -fsS "http://127.0.0.1:$http_port/ready" >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 0.5
  done
  ((ready == 1)) && break
  wait "$run_pid" 2>/dev/null || true
  run_pid=""
  grep -q "Address already in use" "$home/run.log" || break
done
if ((ready == 0)); then
  echo "newcomer_test: ./scripts/run did not become ready" >&2
  tail -n 40 "$home/run.log" >&2
  exit 1
fi
key=$(sed -n 's/.*development API key (admin): \(.*\)$/\1/p' "$home/run.log" | head -n 1)
[[ -n "$key" ]] || { echo "newcomer_test: no development key printed" >&2; exit 1; }
grep -q "the cluster is in" "$home/run.log" ||
  { echo "newcomer_test: scripts/run did not say where the cluster went" >&2; exit 1; }
holder=00000000-0000-4000-8000-000000000001
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" \
  "http://127.0.0.1:$http_port/v1/accounts?holder_id=$holder")
[[ "$status" == 200 ]] || { echo "newcomer_test: GET /v1/accounts answered $status" >&2; exit 1; }
datadir=$(sed -n 's/.*the cluster is in \([^,]*\),.*/\1/p' "$home/run.log" | head -n 1)
kill -INT -- "-$run_pid"
run_status=0
wait "$run_pid" || run_status=$?
run_pid=""
if ((run_status != 0)); then
  echo "newcomer_test: ./scripts/run exited $run_status after Ctrl-C" >&2
  tail -n 20 "$home/run.log" >&2
  exit 1
fi
if [[ -f "$datadir/postmaster.pid" ]]; then
  echo "newcomer_test: PostgreSQL still runs in $datadir after Ctrl-C" >&2
  exit 1
fi
echo "newcomer_test: ./scripts/run answered, stopped and stopped its PostgreSQL"

echo "newcomer_test: ./scripts/test --quick (migration and command-line tests)"
./scripts/test --quick --target integration_test -- -R '^(MigrateTest|CliTest)\.' \
  >"$home/test.log" 2>&1 || {
  echo "newcomer_test: ./scripts/test failed" >&2
  tail -n 40 "$home/test.log" >&2
  exit 1
}
grep -q "100% tests passed" "$home/test.log" ||
  { echo "newcomer_test: ./scripts/test ran no tests" >&2; tail -n 20 "$home/test.log" >&2; exit 1; }
echo "newcomer_test: ok"
