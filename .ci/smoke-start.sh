#!/usr/bin/env bash
# The README's first command, checked as a newcomer would: `npm start` on embedded PostgreSQL
# prints a URL, /readyz answers 200 within 30 s, Ctrl-C (SIGINT) stops it with exit 0, and a
# second start reuses the same data.
set -euo pipefail
data=$(mktemp -d)
chmod 755 "$data"
trap 'rm -rf "$data"' EXIT
run_once() {
  local label=$1 out
  out=$(mktemp)
  # setsid: a process group of its own, so SIGINT reaches npm, tsx and node together, as Ctrl-C does.
  env -u DATABASE_URL EVENTIX_DATA_DIR="$data" EVENTIX_EMBEDDED_PORT=0 EVENTIX_PORT=0 EVENTIX_LOG_LEVEL=warn \
    setsid npm start >"$out" 2>&1 &
  local pid=$! url="" ready=""
  for _ in $(seq 1 300); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -n1 || true)
    if [ -n "$url" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; then ready=yes; break; fi
    sleep 0.1
  done
  if [ -z "$ready" ]; then echo "$label: /readyz did not answer 200 within 30 s"; cat "$out"; kill -KILL -- -"$pid" || true; exit 1; fi
  echo "$label: $url/readyz answered 200 after ${SECONDS}s"
  # The dashboard is part of what `npm start` opens. Into a file, not piped to `grep -q`: grep exits
  # at the first match, curl then fails writing the rest (EPIPE), and pipefail reported a dashboard
  # that had been served (seen twice in about 60 CI runs).
  local ui status
  ui=$(mktemp)
  status=$(curl -s -o "$ui" -w '%{http_code}' "$url/ui" || true)
  if [ "$status" != 200 ] || ! grep -q '<title>Overview · Eventix</title>' "$ui"; then
    echo "$label: /ui did not serve the dashboard (HTTP $status); the start of its answer:"; head -c 2000 "$ui"; echo
    cat "$out"; kill -KILL -- -"$pid" || true; exit 1
  fi
  rm -f "$ui"
  kill -INT -- -"$pid"
  local code=0
  wait "$pid" || code=$?
  # npm itself answers a SIGINT with 130 after its script exits; Eventix (node) must exit 0 and say so.
  if [ "$code" != 0 ] && [ "$code" != 130 ]; then echo "$label: exit code $code after SIGINT"; cat "$out"; exit 1; fi
  grep -q 'Eventix stopped' "$out" || { echo "$label: no clean stop"; cat "$out"; exit 1; }
  rm -f "$out"
}
run_once "first start"
test -f "$data/pgdata/PG_VERSION"
marker=$(stat -c %Y "$data/pgdata/PG_VERSION")
run_once "second start"
# Same cluster, not a fresh initdb.
[ "$(stat -c %Y "$data/pgdata/PG_VERSION")" = "$marker" ] || { echo "data folder was re-initialised"; exit 1; }
echo "npm start smoke test passed (data reused across restarts)"
