#!/usr/bin/env bash
# ctest entry: start a real ledgerd (on the PostgreSQL started by scripts/test), give it a
# funded account and a card over REST, then drive its ISO 8583 listener with iso_8583.
# Usage: run.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../support/ledgerd_for_tests.sh"
[[ -d "$here/node_modules/iso_8583" ]] || { echo "interop: run npm ci in tests/interop (scripts/test does)" >&2; exit 1; }
start_test_ledgerd "$1" interop backoffice
http=$HTTP_PORT
iso=$ISO_PORT
key=$KEY
post() {
  curl -sf -X POST "http://127.0.0.1:$http$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "$2" >/dev/null
}
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000001","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"settlement"}'
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000002","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"customer"}'
post /v1/transfers '{"id":"00000000-0000-4000-8000-000000000101","debit_account_id":"00000000-0000-4000-8000-000000000001","credit_account_id":"00000000-0000-4000-8000-000000000002","amount":10000,"currency":"EUR"}'
post /v1/cards '{"account_id":"00000000-0000-4000-8000-000000000002","pan":"4000056655665556","expiry":"4012"}'
LEDGERD_ISO_PORT=$iso node "$here/interop.js" 4000056655665556
