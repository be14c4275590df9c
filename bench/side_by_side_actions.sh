#!/usr/bin/env bash
# heed vs the DRF anchor (../shared/bench/drf-reference: Django + DRF + gunicorn sync, SQLite) on
# GET /api/user-actions/ and GET /api/user-actions/summary/, same data, the anchor's own load.sh,
# one sitting, interleaved. The user-actions counterpart of the anchor's side_by_side.sh.
#
#   bench/side_by_side_actions.sh            setup (if not done) + measure
#   bench/side_by_side_actions.sh setup      seed the anchor (ACTIONS per user), build heed, migrate,
#                                            import users/tokens/actions (bench/uaimport), verify both
#                                            serve the same lists and summaries
#   bench/side_by_side_actions.sh measure    wait for a quiet machine, ROUNDS interleaved rounds
#
# Run it from the project's root. Needs Debian's python3-django python3-djangorestframework
# python3-django-reversion python3-django-filters python3-gunicorn, and wrk, jq, curl.
# Knobs: WORK ($TMPDIR/heed-side-by-side-actions), ANCHOR_SRC (../shared/bench/drf-reference),
# ACTIONS (50 per user), USERS (1000), ROUNDS (2), SCENARIO_LIST (user_actions_list user_actions_summary
# user_actions_list_50), HEED_SYNC (full: --sqlite-synchronous-full, the anchor's SQLite setting),
# CONNECTIONS (4), LOAD_MAX (1.0), LOAD_WAIT_S (300), LOAD_POLL_S (15), DURATION (10s), WARMUP (2s).
#
# user_actions_list and user_actions_summary are the anchor's load.lua scenarios, unchanged
# (GET /api/user-actions/ and summary/ as a regular user, the token changing every request; the list
# is the default page of 10). user_actions_list_50 is added to the work copy of load.lua:
# the same with ?page_size=50, i.e. every visible action of the user (about 40 of 50).
# Both servers only read, so the databases need no restoring between rounds; counts are checked
# after the last round.
set -euo pipefail

HEED_SRC=$PWD
WORK=${WORK:-${TMPDIR:-/tmp}/heed-side-by-side-actions}
ANCHOR_SRC=${ANCHOR_SRC:-$HEED_SRC/../shared/bench/drf-reference}
PY=${PYTHON:-/usr/bin/python3}
ANCHOR_PORT=8077
HEED_PORT=18334
ANCHOR_URL=http://127.0.0.1:$ANCHOR_PORT
HEED_URL=http://127.0.0.1:$HEED_PORT
ACTIONS=${ACTIONS:-50}
USERS=${USERS:-1000}
ROUNDS=${ROUNDS:-2}
SCENARIO_LIST=${SCENARIO_LIST:-user_actions_list user_actions_summary user_actions_list_50}
HEED_SYNC=${HEED_SYNC:-full}
CONNECTIONS=${CONNECTIONS:-4}
LOAD_MAX=${LOAD_MAX:-1.0}
LOAD_WAIT_S=${LOAD_WAIT_S:-300}
LOAD_POLL_S=${LOAD_POLL_S:-15}
export DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s}

ANCHOR_DIR=$WORK/anchor
HEED_BIN=$WORK/heed
HEED_DB=$WORK/heed.db
MANIFEST=$ANCHOR_DIR/manifest.json

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# ---------- servers (started here, stopped by their PIDs) ----------
anchor_pid= heed_pid=
start_anchor() {
  (cd "$ANCHOR_DIR" && ANCHOR_DB=$ANCHOR_DIR/anchor.sqlite3 exec "$PY" -m gunicorn --bind "127.0.0.1:$ANCHOR_PORT" \
    --workers 2 --worker-class sync --log-level warning anchor.wsgi:application) >>"$WORK/anchor-server.log" 2>&1 &
  anchor_pid=$!
  wait_healthy "$ANCHOR_URL" "$anchor_pid"
}
start_heed() {
  local flags=()
  [ "$HEED_SYNC" = full ] && flags+=(--sqlite-synchronous-full)
  # No detection or cleanup while measuring: the imported actions have no objects behind them.
  "$HEED_BIN" serve --database-url "$HEED_DB" --addr "127.0.0.1:$HEED_PORT" --log-level warn "${flags[@]}" \
    --schedule user_actions_update=off --schedule user_actions_cleanup_dangling=off \
    --schedule user_actions_cleanup_silences=off --schedule user_actions_cleanup_executions=off \
    --schedule user_actions_digest=off >>"$WORK/heed-server.log" 2>&1 &
  heed_pid=$!
  wait_healthy "$HEED_URL" "$heed_pid"
}
wait_healthy() { # url pid
  for _ in $(seq 300); do
    curl -fs "$1/healthz" >/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { log "server $2 for $1 exited during start-up"; exit 1; }
    sleep 0.1
  done
  log "no healthy server at $1"; exit 1
}
stop_pid() { [ -n "$1" ] || return 0; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
stop_servers() { stop_pid "$anchor_pid"; anchor_pid=; stop_pid "$heed_pid"; heed_pid=; }
trap 'stop_servers' EXIT

server_pids() { echo "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); }
cpu_ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }

# ---------- setup ----------
setup() {
  mkdir -p "$WORK"
  log "copy and seed the anchor: $USERS users x $ACTIONS actions (history data at run.sh's defaults)"
  rm -rf "$ANCHOR_DIR"
  cp -r "$ANCHOR_SRC" "$ANCHOR_DIR"
  chmod -R u+w "$ANCHOR_DIR"
  # One more scenario in the work copy of load.lua: the whole visible list (about 40 of 50).
  sed -i 's|^  user_actions_summary = function() return as_user("/api/user-actions/summary/") end,|&\n  user_actions_list_50 = function() return as_user("/api/user-actions/?page_size=50") end,|' \
    "$ANCHOR_DIR/load.lua"
  grep -q user_actions_list_50 "$ANCHOR_DIR/load.lua" || { log "could not add user_actions_list_50 to load.lua"; exit 1; }
  (cd "$ANCHOR_DIR" && ACTIONS=$ACTIONS USERS=$USERS ./run.sh true) 2>&1 | tee "$WORK/anchor-seed.log"
  log "build heed ($(git -C "$HEED_SRC" rev-parse --short HEAD)) and bench/uaimport"
  go build -o "$HEED_BIN" ./cmd/heed
  go build -o "$WORK/uaimport" ./bench/uaimport
  rm -f "$HEED_DB" "$HEED_DB-wal" "$HEED_DB-shm"
  "$HEED_BIN" migrate --database-url "$HEED_DB" --log-level warn
  "$WORK/uaimport" --anchor "$ANCHOR_DIR/anchor.sqlite3" --database-url "$HEED_DB" | tee "$WORK/import.log"
  start_anchor; start_heed
  verify | tee "$WORK/verify.txt"
  stop_servers
}

# Same uuids in the same order (page 1 of 10, and page_size=50), same count, same summary, for
# the first, middle and last users of the manifest.
verify() {
  local n failures=0 tok i path a h
  n=$(jq '.user_tokens | length' "$MANIFEST")
  for i in 0 1 $((n / 2)) $((n - 1)); do
    tok=$(jq -r ".user_tokens[$i]" "$MANIFEST")
    for path in "/api/user-actions/" "/api/user-actions/?page_size=50" "/api/user-actions/?include_silenced=true&page_size=300"; do
      a=$(curl -fsS -D "$WORK/h-a" -H "Authorization: Token $tok" "$ANCHOR_URL$path" | jq -c '[.[] | .uuid | gsub("-"; "")]')
      h=$(curl -fsS -D "$WORK/h-h" -H "Authorization: Token $tok" "$HEED_URL$path" | jq -c '[.[] | .uuid | gsub("-"; "")]')
      local ca ch; ca=$(grep -i '^x-result-count' "$WORK/h-a" | tr -d '\r' | cut -d' ' -f2); ch=$(grep -i '^x-result-count' "$WORK/h-h" | tr -d '\r' | cut -d' ' -f2)
      if [ "$a" = "$h" ] && [ "$ca" = "$ch" ]; then
        echo "user $i $path: same $(jq length <<<"$a") uuids in the same order, count $ca"
      else
        echo "user $i $path: DIFFERENT (anchor count $ca, heed count $ch)"; echo " anchor $a"; echo " heed   $h"; failures=$((failures + 1))
      fi
    done
    a=$(curl -fsS -H "Authorization: Token $tok" "$ANCHOR_URL/api/user-actions/summary/" | jq -cS '{total, by_urgency, by_type, overdue}')
    h=$(curl -fsS -H "Authorization: Token $tok" "$HEED_URL/api/user-actions/summary/" | jq -cS '{total, by_urgency, by_type, overdue}')
    if [ "$a" = "$h" ]; then echo "user $i summary: same $a"; else echo "user $i summary: DIFFERENT anchor $a heed $h"; failures=$((failures + 1)); fi
  done
  tok=$(jq -r '.user_tokens[0]' "$MANIFEST")
  for path in "/api/user-actions/" "/api/user-actions/?page_size=50" "/api/user-actions/summary/"; do
    echo "bytes $path: anchor $(curl -fsS -H "Authorization: Token $tok" "$ANCHOR_URL$path" | wc -c)," \
      "heed $(curl -fsS -H "Authorization: Token $tok" "$HEED_URL$path" | wc -c)"
  done
  echo "verify: $([ "$failures" = 0 ] && echo "all same" || echo "$failures check(s) differ")"
  [ "$failures" = 0 ]
}

# ---------- measure ----------
run_one() { # round impl scenario
  local round=$1 impl=$2 scenario=$3 url pid
  case $impl in anchor) url=$ANCHOR_URL pid=$anchor_pid ;; *) url=$HEED_URL pid=$heed_pid ;; esac
  local before; before=$(cut -d' ' -f1 /proc/loadavg)
  local t0; t0=$(cpu_ticks $(server_pids "$pid"))
  local out
  out=$(cd "$ANCHOR_DIR" && SCENARIOS=$scenario THREADS=2 CONNECTIONS=$CONNECTIONS ./load.sh "$url" "$MANIFEST" "$DURATION")
  local t1; t1=$(cpu_ticks $(server_pids "$pid"))
  echo "$out" >>"$RESULTS/raw-$round.txt"
  local rps p50 p99 non2xx sockerr requests
  read -r _ rps p50 p99 non2xx sockerr requests <<<"$(tail -n 1 <<<"$out")"
  local cpu_s; cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scenario" "$impl" "$rps" "$p50" "$p99" \
    "$non2xx" "$sockerr" "$requests" "$cpu_s" "$before" "$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$RESULTS/summary.tsv"
}

measure() {
  [ -f "$HEED_DB" ] && [ -f "$ANCHOR_DIR/anchor.sqlite3" ] || { log "no databases: run setup first"; exit 1; }
  RESULTS=$WORK/results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$RESULTS"
  log "build heed from the current tree ($(git -C "$HEED_SRC" rev-parse --short HEAD))"
  go build -o "$HEED_BIN" ./cmd/heed
  printf 'round\tscenario\timpl\treq_s\tp50_ms\tp99_ms\tnon2xx\tsockerr\trequests\tserver_cpu_s\tload1_before\tload1_after\n' >"$RESULTS/summary.tsv"
  {
    echo "heed: built from $(git -C "$HEED_SRC" rev-parse HEAD), $(git -C "$HEED_SRC" status --porcelain -- cmd internal go.mod go.sum | wc -l) uncommitted path(s) under cmd/ internal/ go.mod go.sum"
    echo "anchor: $ANCHOR_SRC, $USERS users x $ACTIONS actions"
    "$PY" -c 'import django, rest_framework, gunicorn, sqlite3; print("django", django.__version__, "drf", rest_framework.__version__, "gunicorn", gunicorn.__version__, "sqlite", sqlite3.sqlite_version)'
    wrk -v 2>&1 | head -n 1 || true
    echo "heed synchronous=$HEED_SYNC; load.sh: 2 threads x $CONNECTIONS connections, $DURATION after $WARMUP warm-up"
    nproc; uname -a
  } >"$RESULTS/env.txt"
  log "results in $RESULTS; waiting for 1-min load < $LOAD_MAX (up to ${LOAD_WAIT_S}s)"
  local waited=0
  while :; do
    echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/loadavg-wait.txt"
    if awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN{exit !(l < m)}'; then log "load $(load1): start"; break; fi
    if [ "$waited" -ge "$LOAD_WAIT_S" ]; then log "load still $(load1) after ${waited}s: measuring anyway"; break; fi
    sleep "$LOAD_POLL_S"; waited=$((waited + LOAD_POLL_S))
  done
  start_anchor; start_heed
  local r scenario
  for r in $(seq "$ROUNDS"); do
    # Alternate who goes first, so neither always runs on the warmer machine.
    for scenario in $SCENARIO_LIST; do
      if [ $((r % 2)) = 1 ]; then run_one "$r" anchor "$scenario"; run_one "$r" "heed-$HEED_SYNC" "$scenario"
      else run_one "$r" "heed-$HEED_SYNC" "$scenario"; run_one "$r" anchor "$scenario"; fi
    done
  done
  verify >"$RESULTS/verify-after.txt" || log "verify after measuring differs: see $RESULTS/verify-after.txt"
  stop_servers
  log "done: $RESULTS/summary.tsv"
  column -t -s $'\t' "$RESULTS/summary.tsv" >&2
  # heed/anchor ratios per round and scenario (req/s up is better; p50/p99 down is better).
  awk -F'\t' 'NR > 1 { k = $1 "\t" $2; if ($3 == "anchor") { a[k] = $4; ap50[k] = $5; ap99[k] = $6 } else { h[k] = $4; hp50[k] = $5; hp99[k] = $6 } ; keys[k] = 1 }
    END { for (k in keys) if (a[k] && h[k]) printf "%s\t%.2f\t%.2f\t%.2f\n", k, h[k] / a[k], ap50[k] / hp50[k], ap99[k] / hp99[k] }' \
    "$RESULTS/summary.tsv" | sort | { printf 'round\tscenario\theed/anchor req_s\tanchor/heed p50\tanchor/heed p99\n'; cat; } |
    tee "$RESULTS/ratios.tsv" | column -t -s $'\t' >&2
}

case ${1:-all} in
  setup) setup ;;
  measure) measure ;;
  all) [ -f "$HEED_DB" ] || setup; measure ;;
  *) echo "usage: $0 [setup|measure|all]" >&2; exit 2 ;;
esac
