#!/usr/bin/env bash
# ctest entry, two checks of docs/openapi.yaml:
#   run.sh lint             Redocly's lint of the document (once per run: no ledgerd involved);
#   run.sh live LEDGERD     live responses of a real ledgerd (on the PostgreSQL started by
#                           scripts/test) checked against it (Ajv), in every build's suite.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [[ ! -x "$here/node_modules/.bin/redocly" ]]; then
  echo "openapi test: tests/openapi/node_modules is missing (scripts/test runs npm ci)" >&2
  exit 1
fi
case "${1:-}" in
  lint)
    "$here/node_modules/.bin/redocly" lint "$here/../../docs/openapi.yaml" \
      --config "$here/redocly.yaml" --format=stylish
    ;;
  live)
    source "$here/../support/ledgerd_for_tests.sh"
    start_test_ledgerd "$2" openapi admin  # admin: also reads /v1/audit
    LEDGERD_URL="http://127.0.0.1:$HTTP_PORT" LEDGERD_KEY="$KEY" node "$here/check_live.mjs"
    ;;
  *)
    echo "usage: run.sh lint | run.sh live /path/to/ledgerd" >&2
    exit 2
    ;;
esac
