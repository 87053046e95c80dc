#!/usr/bin/env bash
# ctest entry: lint docs/openapi.yaml, then check live responses of a real ledgerd (on the
# PostgreSQL started by scripts/test) against it. Usage: run.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ledgerd=$1
: "${LEDGER_TEST_DATABASE_URL:?run through ./scripts/test, which starts PostgreSQL}"
if [[ ! -x "$here/node_modules/.bin/redocly" ]]; then
  echo "openapi test: tests/openapi/node_modules is missing (scripts/test runs npm ci)" >&2
  exit 1
fi
"$here/node_modules/.bin/redocly" lint "$here/../../docs/openapi.yaml" --config "$here/redocly.yaml" --format=stylish

db="ledger_openapi_$$"
admin=$LEDGER_TEST_DATABASE_URL
psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export LEDGER_DATABASE_URL=${admin%/*}/$db
export LEDGER_MIGRATIONS_DIR=$here/../../migrations
export LEDGER_HTTP_LISTEN=127.0.0.1:0 LEDGER_ISO8583_LISTEN=127.0.0.1:0
export LEDGER_ACCOUNTS_MAX=1000 LEDGER_TRANSFERS_MAX=10000 LEDGER_CARDS_MAX=100
export LEDGER_PAN_SECRET=openapi-check-secret-0123456789abcdef
key=$("$ledgerd" keys create --scopes backoffice --name openapi-check 2>/dev/null)
log=$(mktemp)
"$ledgerd" serve >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 200); do
  grep -q "event=serving" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.05
done
port=$(grep -o 'event=listening interface=http address=[^ ]*' "$log" | head -1 | sed 's/.*://')
LEDGERD_URL="http://127.0.0.1:$port" LEDGERD_KEY="$key" node "$here/check_live.mjs"
