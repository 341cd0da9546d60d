#!/usr/bin/env bash
# `npm start` with the embedded PostgreSQL: ready within 30 s, prints URL and admin token, answers /readyz,
# /openapi.json and /metrics, refuses a request without a token, stops cleanly on SIGTERM, and the next start
# reuses the same database (no second "first admin"); on the demo data, agents' proposals execute or wait for review.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR="$(mktemp -d /var/tmp/funnelgate-smoke-XXXXXX)"
PORT="$(node_modules/.bin/node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
LOG="$DATA_DIR/start.log"
trap 'kill $(cat "$DATA_DIR/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$DATA_DIR"' EXIT

start() {
  FUNNELGATE_DATA_DIR="$DATA_DIR" PORT="$PORT" npm start --silent >"$LOG" 2>&1 &
  echo $! >"$DATA_DIR/pid"
  for _ in $(seq 1 60); do
    if grep -q "Funnelgate is ready" "$LOG"; then return 0; fi
    sleep 0.5
  done
  echo "smoke: not ready within 30 s"; cat "$LOG"; exit 1
}

stop() {
  # The node process (not npm) owns the embedded database and records its pid beside it.
  local pid; pid="$(cat "$DATA_DIR/embedded-postgres.owner")"
  kill -TERM "$pid"
  for _ in $(seq 1 60); do
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then echo "smoke: did not stop within 30 s"; cat "$LOG"; exit 1; fi
  grep -q "stopped cleanly" "$LOG" || { echo "smoke: no clean stop"; cat "$LOG"; exit 1; }
}

start
TOKEN="$(grep -o 'fg_[A-Za-z0-9_-]\{43\}' "$LOG" | head -1)"
[ -n "$TOKEN" ] || { echo "smoke: no admin token printed"; cat "$LOG"; exit 1; }
BASE="http://127.0.0.1:$PORT"
# Bodies are read whole before grep looks at them (grep -q stops early and would break curl's pipe).
READY="$(curl -fsS "$BASE/readyz")"; grep -q '"ready":true' <<<"$READY"
OPENAPI="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/openapi.json")"; grep -q '"openapi"' <<<"$OPENAPI"
METRICS="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/metrics")"; grep -q 'funnelgate_' <<<"$METRICS"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/v1/me")" = 401 ]
# The whole loop on the demo data: the agents' proposals appear, some execute on their own, some wait for a human.
count() {
  local body; body="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/decisions?status=$1&limit=5")"
  grep -o '"id":"[0-9a-f-]\{36\}","agent"' <<<"$body" | wc -l
}
for _ in $(seq 1 120); do
  if [ "$(count executed)" -gt 0 ] && [ "$(count pending_review)" -gt 0 ]; then break; fi
  sleep 1
done
[ "$(count executed)" -gt 0 ] || { echo "smoke: no decision executed on the demo data within 2 min"; exit 1; }
[ "$(count pending_review)" -gt 0 ] || { echo "smoke: no decision waits for review on the demo data"; exit 1; }
stop

start
if grep -q "First start" "$LOG"; then echo "smoke: the restart did not reuse the database"; exit 1; fi
ME="$(curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/me")"; grep -q 'admin@funnelgate.local' <<<"$ME"
stop
echo "smoke: npm start with embedded PostgreSQL OK"
