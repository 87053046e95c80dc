#!/usr/bin/env bash
# ctest entry: start a real ledgerd (on the PostgreSQL started by scripts/test), give it a
# funded account with an IBAN, then send it pain.001 files made by the sepa package (sepa.js).
# Usage: run_sepa.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../support/ledgerd_for_tests.sh"
[[ -d "$here/node_modules/sepa" ]] || { echo "interop: run npm ci in tests/interop (scripts/test does)" >&2; exit 1; }
start_test_ledgerd "$1" sepainterop backoffice
http=$HTTP_PORT
key=$KEY
post() {
  curl -sf -X POST "http://127.0.0.1:$http$1" -H "Authorization: Bearer $key" \
    -H 'Content-Type: application/json' -d "$2" >/dev/null
}
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000001","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"settlement"}'
post /v1/accounts '{"id":"00000000-0000-4000-8000-000000000002","holder_id":"00000000-0000-4000-8000-000000000009","currency":"EUR","kind":"customer","iban":"DE02120300000000202051"}'
post /v1/transfers '{"id":"00000000-0000-4000-8000-000000000101","debit_account_id":"00000000-0000-4000-8000-000000000001","credit_account_id":"00000000-0000-4000-8000-000000000002","amount":100000,"currency":"EUR"}'
LEDGERD_HTTP_PORT=$http LEDGERD_KEY=$key node "$here/sepa_pain001.js" DE02120300000000202051 00000000-0000-4000-8000-000000000002
