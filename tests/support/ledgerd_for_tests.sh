# Sourced by the script-driven tests (tests/openapi, tests/interop): a fresh database on the
# PostgreSQL started by scripts/test, a key of the given scope, and a running ledgerd on free
# loopback ports. Sets KEY, HTTP_PORT, ISO_PORT; stops ledgerd when the script exits.
# Usage: start_test_ledgerd /path/to/ledgerd NAME SCOPE
start_test_ledgerd() {
  local ledgerd=$1 name=$2 scope=$3
  : "${LEDGER_TEST_DATABASE_URL:?run through ./scripts/test, which starts PostgreSQL}"
  local here db admin
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  db="ledger_${name}_$$"
  admin=$LEDGER_TEST_DATABASE_URL
  # A copy of the migrated template scripts/test made (tests/support/test_db.h), when there is one.
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db" \
    -c "CREATE DATABASE $db${LEDGER_TEST_TEMPLATE_DATABASE:+ TEMPLATE $LEDGER_TEST_TEMPLATE_DATABASE}" \
    >/dev/null 2>&1
  export LEDGER_DATABASE_URL=${admin%/*}/$db
  [[ -z "${LEDGER_TEST_TEMPLATE_DATABASE:-}" ]] ||
    psql "$LEDGER_DATABASE_URL" -qc "UPDATE ledger_instance SET instance_id = gen_random_uuid()" >/dev/null
  export LEDGER_MIGRATIONS_DIR=$here/../../migrations
  export LEDGER_HTTP_LISTEN=127.0.0.1:0 LEDGER_ISO8583_LISTEN=127.0.0.1:0
  export LEDGER_ACCOUNTS_MAX=1000 LEDGER_TRANSFERS_MAX=10000 LEDGER_CARDS_MAX=100
  export LEDGER_PAN_SECRET=${name}-check-secret-0123456789abcdef
  export LEDGER_WEBHOOK_KEY=${LEDGER_WEBHOOK_KEY:-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef}
  export LEDGER_WEBHOOK_ALLOWLIST=127.0.0.1  # deliveries in tests go to loopback only
  KEY=$("$ledgerd" keys create --scopes "$scope" --name "$name" 2>/dev/null)
  TEST_LEDGERD_LOG=$(mktemp)
  "$ledgerd" serve >"$TEST_LEDGERD_LOG" 2>&1 &
  TEST_LEDGERD_PID=$!
  trap 'kill $TEST_LEDGERD_PID 2>/dev/null || true; wait $TEST_LEDGERD_PID 2>/dev/null || true; rm -f "$TEST_LEDGERD_LOG"' EXIT
  for _ in $(seq 1 200); do
    grep -q "event=serving" "$TEST_LEDGERD_LOG" && break
    kill -0 "$TEST_LEDGERD_PID" 2>/dev/null || { cat "$TEST_LEDGERD_LOG"; return 1; }
    sleep 0.05
  done
  HTTP_PORT=$(grep -o 'interface=http address=[^ ]*' "$TEST_LEDGERD_LOG" | head -1 | sed 's/.*://')
  ISO_PORT=$(grep -o 'interface=iso8583 address=[^ ]*' "$TEST_LEDGERD_LOG" | head -1 | sed 's/.*://')
}
