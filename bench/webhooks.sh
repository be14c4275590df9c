#!/usr/bin/env bash
# Webhook delivery throughput and latency (bench/webhooks/main.go): builds
# heed, then on a fresh SQLite file and, with --postgres URL, on a fresh
# PostgreSQL database that this script creates on that server and drops
# afterwards, runs `heed serve` beside a local receiver and measures
# sustained deliveries/s, then commit-to-receipt latency at half that rate.
# Needs psql for --postgres. Every other argument goes to the bench program
# (--duration, --rate, --workers, --max-workers, --producers, --produce,
# --in-process, --cpuprofile; run it with -h for the list).
# Usage: bench/webhooks.sh [--postgres URL] [--sqlite-only|--postgres-only] [bench flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

pg=""
run_sqlite=1
run_pg=1
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --postgres) pg=$2; shift 2 ;;
    --postgres=*) pg=${1#*=}; shift ;;
    --sqlite-only) run_pg=0; shift ;;
    --postgres-only) run_sqlite=0; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ "$run_sqlite" = 0 ] && [ -z "$pg" ]; then
  echo "--postgres-only needs --postgres URL" >&2
  exit 2
fi

work=$(mktemp -d)
dbname=""
cleanup() {
  if [ -n "$dbname" ]; then
    psql "$pg" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $dbname WITH (FORCE)" >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/heed" ./cmd/heed
go build -o "$work/webhooks" ./bench/webhooks

# with_db URL NAME: URL with its database (path) replaced by NAME, query kept.
with_db() {
  local url=$1 name=$2 base query="" rest
  base=${url%%\?*}
  [ "$base" != "$url" ] && query="?${url#*\?}"
  rest=${base#*://}
  if [[ $rest == */* ]]; then
    base=${base%/*}
  fi
  printf '%s/%s%s' "$base" "$name" "$query"
}

if [ "$run_sqlite" = 1 ]; then
  echo "== sqlite"
  echo "uptime: $(uptime)"
  mkdir "$work/sqlite"
  "$work/webhooks" --heed "$work/heed" --dir "$work/sqlite" --db sqlite ${args[@]+"${args[@]}"}
fi
if [ -n "$pg" ] && [ "$run_pg" = 1 ]; then
  dbname="heed_webhooks_bench_$$"
  psql "$pg" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $dbname" >/dev/null
  echo "== postgres"
  echo "uptime: $(uptime)"
  mkdir "$work/postgres"
  "$work/webhooks" --heed "$work/heed" --dir "$work/postgres" --db "$(with_db "$pg" "$dbname")" ${args[@]+"${args[@]}"}
fi
