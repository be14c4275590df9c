#!/usr/bin/env bash
# Throughput of GET /api/users/me/ (token lookup, user load, JSON) against a
# bare net/http handler returning the same bytes, on this machine, in one
# sitting. Needs wrk (apt-get install wrk). Usage: bench/users-me.sh [seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/heed" ./cmd/heed
go build -o "$work/baseline" ./bench/baseline

"$work/heed" serve --demo --database-url "$work/heed.db" --addr 127.0.0.1:18180 --log-level warn >"$work/heed.log" 2>&1 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18180/healthz >/dev/null && break; sleep 0.1; done
curl -sf -H 'Authorization: Token demo-alice-token' http://127.0.0.1:18180/api/users/me/ >"$work/me.json"
"$work/baseline" --body "$work/me.json" --addr 127.0.0.1:18181 &
for _ in $(seq 100); do curl -sf http://127.0.0.1:18181/api/users/me/ >/dev/null && break; sleep 0.1; done

run() { # name url
  echo "== $1"
  wrk -t2 -c"$conns" -d"${secs}s" --latency -H 'Authorization: Token demo-alice-token' "$2" | tee "$work/$1.txt" |
    grep -E 'Requests/sec|50%|99%|Non-2xx' || true
}
run baseline http://127.0.0.1:18181/api/users/me/
run heed http://127.0.0.1:18180/api/users/me/
b=$(awk '/Requests\/sec/ {print $2}' "$work/baseline.txt")
h=$(awk '/Requests\/sec/ {print $2}' "$work/heed.txt")
echo "heed/baseline throughput ratio: $(awk -v h="$h" -v b="$b" 'BEGIN {printf "%.3f", h/b}')"
