#!/usr/bin/env bash
# ctest entry: lint docs/openapi.yaml, then check live responses of a real ledgerd (on the
# PostgreSQL started by scripts/test) against it. Usage: run.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../support/ledgerd_for_tests.sh"
if [[ ! -x "$here/node_modules/.bin/redocly" ]]; then
  echo "openapi test: tests/openapi/node_modules is missing (scripts/test runs npm ci)" >&2
  exit 1
fi
"$here/node_modules/.bin/redocly" lint "$here/../../docs/openapi.yaml" --config "$here/redocly.yaml" --format=stylish
start_test_ledgerd "$1" openapi admin  # admin: also reads /v1/audit
LEDGERD_URL="http://127.0.0.1:$HTTP_PORT" LEDGERD_KEY="$KEY" node "$here/check_live.mjs"
