#!/usr/bin/env bash
# ctest entry: the README's "Two minutes with an instant payment" exactly as printed (only the
# ports are changed to the test's), against a real ledgerd on the PostgreSQL started by
# scripts/test and the simulated clearing house. Every command must succeed, and the money
# must end where the README says: the statement closes at 87.34.
# Usage: run_sepa.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
readme=$here/../../README.md
# The clearing house on a free loopback port, before ledgerd (which is pointed at it).
csm_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
csm_log=$(mktemp)
"$1" simulate clearing-house --listen "127.0.0.1:$csm_port" >"$csm_log" 2>&1 &
csm_pid=$!
export LEDGER_SCT_INST_URL="http://127.0.0.1:$csm_port/sct-inst"
source "$here/../support/ledgerd_for_tests.sh"
start_test_ledgerd "$1" sepawalk admin
work=$(mktemp -d)
trap 'kill $TEST_LEDGERD_PID $csm_pid 2>/dev/null || true; wait $TEST_LEDGERD_PID $csm_pid 2>/dev/null || true; rm -rf "$work" "$TEST_LEDGERD_LOG" "$csm_log"' EXIT
mkdir -p "$work/.data" "$work/build/release/src/app"
echo "$KEY" >"$work/.data/dev_api_key"
ln -s "$1" "$work/build/release/src/app/ledgerd"
sed -n '/<!-- sepa-walkthrough:begin -->/,/<!-- sepa-walkthrough:end -->/p' "$readme" |
  sed -e '1,2d' -e '$d' | sed -e '$d' >"$work/walkthrough.sh"
grep -q 'simulate instant-payment' "$work/walkthrough.sh" || { echo "walkthrough block not found"; exit 1; }
sed -i -e "s/127.0.0.1:8080/127.0.0.1:$HTTP_PORT/g" "$work/walkthrough.sh"
cd "$work"
bash -euo pipefail walkthrough.sh >output.txt 2>&1 || {
  cat output.txt "$csm_log"
  echo "sepa walkthrough: a command failed"
  exit 1
}
cat output.txt "$csm_log"
grep -q '"status":"settled"' output.txt || { echo "sepa walkthrough: the instant transfer did not settle"; exit 1; }
grep -q '<- pacs.002 in .* ms: ACCP' output.txt || { echo "sepa walkthrough: the instant payment was not accepted"; exit 1; }
grep -q '"closing_balance":8734' output.txt || { echo "sepa walkthrough: statement does not close at 87.34"; exit 1; }
grep -q '"type":"credit_transfer.settled"' output.txt || { echo "sepa walkthrough: no settled event"; exit 1; }
grep -q '"type":"credit_transfer.received"' output.txt || { echo "sepa walkthrough: no received event"; exit 1; }
grep -q 'Vins de Bordeaux SARL (FR1420041010050500013M02606): ACCP' "$csm_log" || { echo "sepa walkthrough: the clearing house saw no pacs.008"; exit 1; }
echo "sepa walkthrough: every command worked as printed"
