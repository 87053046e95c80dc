#!/usr/bin/env bash
# The operator alerts: docs/alerts.yml loads (promtool check rules), every alert in it has a
# case in docs/alerts_test.yml that proves it fires and resolves (promtool test rules), and
# docs/alertmanager.yml, which routes them to Slack, is valid (amtool check-config).
set -euo pipefail
docs=$(cd "$(dirname "$0")/../../docs" && pwd)
promtool check rules "$docs/alerts.yml"
promtool test rules "$docs/alerts_test.yml"
amtool check-config "$docs/alertmanager.yml"
missing=0
for alert in $(sed -n 's/^ *- alert: *//p' "$docs/alerts.yml"); do
  if ! grep -q "alertname: $alert\$" "$docs/alerts_test.yml"; then
    echo "alerts: $alert has no case in docs/alerts_test.yml" >&2
    missing=1
  fi
done
exit "$missing"
