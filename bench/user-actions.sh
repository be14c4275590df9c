#!/usr/bin/env bash
# Throughput of GET /api/user-actions/ (a page of 50) and summary/ for a user
# with 50 actions, against a bare net/http handler returning the same bytes,
# on this machine, in one sitting. Needs wrk (apt-get install wrk).
# Usage: bench/user-actions.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/heed" ./cmd/heed
go build -o "$work/baseline" ./bench/baseline
go build -o "$work/uaseed" ./bench/uaseed

"$work/heed" migrate --database-url "$work/heed.db" --log-level warn
"$work/heed" demo --database-url "$work/heed.db" --log-level warn
"$work/uaseed" --database-url "$work/heed.db" --user alice --n 50
"$work/heed" serve --database-url "$work/heed.db" --addr 127.0.0.1:18180 --log-level warn \
  --schedule user_actions_update=off --schedule user_actions_cleanup_dangling=off >"$work/heed.log" 2>&1 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18180/healthz >/dev/null && break; sleep 0.1; done
list="/api/user-actions/?page_size=50&action_type=bench_synthetic"
curl -sf -H 'Authorization: Token demo-alice-token' "http://127.0.0.1:18180$list" >"$work/list.json"
curl -sf -H 'Authorization: Token demo-alice-token' "http://127.0.0.1:18180/api/user-actions/summary/" >"$work/summary.json"
echo "list: $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))), "actions")' "$work/list.json"), $(wc -c <"$work/list.json") bytes"
"$work/baseline" --route "/api/user-actions/=$work/list.json" --route "/api/user-actions/summary/=$work/summary.json" --addr 127.0.0.1:18181 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18181/api/user-actions/summary/ >/dev/null && break; sleep 0.1; done

run() { # name url
  echo "== $1"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H 'Authorization: Token demo-alice-token' "$2" | tee "$work/$1.txt" |
    grep -E 'Requests/sec|50%|99%|Non-2xx' || true
}
ratio() { # heed baseline
  awk -v h="$(awk '/Requests\/sec/ {print $2}' "$work/$1.txt")" -v b="$(awk '/Requests\/sec/ {print $2}' "$work/$2.txt")" \
    'BEGIN {printf "%.3f", h/b}'
}
run baseline-list "http://127.0.0.1:18181$list"
run heed-list "http://127.0.0.1:18180$list"
run baseline-summary http://127.0.0.1:18181/api/user-actions/summary/
run heed-summary http://127.0.0.1:18180/api/user-actions/summary/
echo "list: heed/baseline throughput ratio $(ratio heed-list baseline-list)"
echo "summary: heed/baseline throughput ratio $(ratio heed-summary baseline-summary)"
