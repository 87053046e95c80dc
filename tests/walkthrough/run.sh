#!/usr/bin/env bash
# ctest entry: the README's "Two minutes with a card" exactly as printed (only the two ports
# are changed to the test server's), against a real ledgerd on the PostgreSQL started by
# scripts/test. Every command must succeed (bash -e: curl -f, the simulator exits non-zero on
# a decline), and the money must end where the README says: the statement closes at 461.70
# (the bookshop's payment cleared from the day's clearing file) and nothing is held. Usage: run.sh /path/to/ledgerd
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
readme=$here/../../README.md
source "$here/../support/ledgerd_for_tests.sh"
start_test_ledgerd "$1" walkthrough admin
work=$(mktemp -d)
trap 'kill $TEST_LEDGERD_PID 2>/dev/null || true; wait $TEST_LEDGERD_PID 2>/dev/null || true; rm -rf "$work" "$TEST_LEDGERD_LOG"' EXIT
mkdir -p "$work/.data" "$work/build/release/src/app"
echo "$KEY" >"$work/.data/dev_api_key"
ln -s "$1" "$work/build/release/src/app/ledgerd"
# The block between the markers, without its fence lines.
sed -n '/<!-- walkthrough:begin -->/,/<!-- walkthrough:end -->/p' "$readme" |
  sed -e '1,2d' -e '$d' | sed -e '$d' >"$work/walkthrough.sh"
grep -q 'sim authorize' "$work/walkthrough.sh" || { echo "walkthrough block not found"; exit 1; }
sed -i -e "s/127.0.0.1:8080/127.0.0.1:$HTTP_PORT/g" -e "s/127.0.0.1:8583/127.0.0.1:$ISO_PORT/g" \
  "$work/walkthrough.sh"
unset LEDGER_ISO8583_LISTEN LEDGER_HTTP_LISTEN
cd "$work"
LEDGER_SIMULATE_STATE=$work/state.tsv bash -euo pipefail walkthrough.sh >output.txt 2>&1 || {
  cat output.txt
  echo "walkthrough: a command failed"
  exit 1
}
cat output.txt
grep -q '"closing_balance":46170' output.txt || { echo "walkthrough: statement does not close at 461.70"; exit 1; }
tail -n 1 output.txt | grep -q '"pending":0,"posted":46170' || { echo "walkthrough: money still held"; exit 1; }
grep -q '"outcome":"posted"' output.txt || { echo "walkthrough: the clearing record did not post"; exit 1; }
grep -q '400005\*\*\*\*\*\*5556' output.txt || { echo "walkthrough: PAN not masked"; exit 1; }
if grep -q '4000056655665556' <(grep -v 'sim \|--pan' output.txt); then
  echo "walkthrough: the full PAN was printed"
  exit 1
fi
echo "walkthrough: every command worked as printed"
