#!/usr/bin/env bash
# ctest entry: start a real ledgerd (on the PostgreSQL started by scripts/test), give it a
# funded account and a card over REST, then drive its ISO 8583 listener with iso_8583.
# Usage: run.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ledgerd=$1
: "${LEDGER_TEST_DATABASE_URL:?run through ./scripts/test, which starts PostgreSQL}"
[[ -d "$here/node_modules/iso_8583" ]] || { echo "interop: run npm ci in tests/interop (scripts/test does)" >&2; exit 1; }
db="ledger_interop_$$"
admin=$LEDGER_TEST_DATABASE_URL
psql "$admin" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
export LEDGER_DATABASE_URL=${admin%/*}/$db
export LEDGER_MIGRATIONS_DIR=$here/../../migrations
export LEDGER_HTTP_LISTEN=127.0.0.1:0 LEDGER_ISO8583_LISTEN=127.0.0.1:0
export LEDGER_ACCOUNTS_MAX=100 LEDGER_TRANSFERS_MAX=10000 LEDGER_CARDS_MAX=100
export LEDGER_PAN_SECRET=interop-check-secret-0123456789abcdef
key=$("$ledgerd" keys create --scopes backoffice --name interop 2>/dev/null)
log=$(mktemp)
"$ledgerd" serve >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 200); do
  grep -q "event=serving" "$log" && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.05
done
http=$(grep -o 'interface=http address=[^ ]*' "$log" | head -1 | sed 's/.*://')
iso=$(grep -o 'interface=iso8583 address=[^ ]*' "$log" | head -1 | sed 's/.*://')
post() {
  curl -sf -X POST "http://127.0.0.1:$http$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "$2" >/dev/null
}
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000001","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"settlement"}'
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000002","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"customer"}'
post /v1/transfers '{"id":"00000000-0000-4000-8000-000000000101","debit_account_id":"00000000-0000-4000-8000-000000000001","credit_account_id":"00000000-0000-4000-8000-000000000002","amount":10000,"currency":"EUR"}'
post /v1/cards '{"account_id":"00000000-0000-4000-8000-000000000002","pan":"4000056655665556","expiry":"4012"}'
LEDGERD_ISO_PORT=$iso node "$here/interop.js" 4000056655665556
