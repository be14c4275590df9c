#!/usr/bin/env bash
# heed vs the DRF reference (../shared/bench/drf-reference: Django + DRF + django-reversion + gunicorn sync
# workers on SQLite, the seed's own stack), same data, the reference's own load.sh, one sitting, interleaved;
# heed on SQLite and on PostgreSQL. See bench/README.md.
#
#   bench/side_by_side.sh            setup (if not done) + measure
#   bench/side_by_side.sh setup      seed the reference, build heed, migrate and import the same data into
#                                    heed on SQLite and PostgreSQL (bench/anchorimport), verify all three
#                                    answer alike, keep pristine copies
#   bench/side_by_side.sh measure    wait for a quiet machine, ROUNDS interleaved rounds, print the table
#
# Run it from the project's root. Needs Debian's python3-django python3-djangorestframework
# python3-django-reversion python3-django-filters python3-gunicorn, wrk, jq, curl, sqlite3 and psql
# (setup installs the missing ones with apt-get when run as root).
# Knobs: WORK ($TMPDIR/heed-side-by-side), ANCHOR_SRC (../shared/bench/drf-reference), PG_URL (a
# PostgreSQL server heed may create databases on; default postgres://postgres@127.0.0.1:5432/postgres;
# NO_POSTGRES=1 skips PostgreSQL), ROUNDS (2), SCENARIO_LIST (history_list history_at history_range
# user_actions_list user_actions_summary resource_patch), USERS_ME (1: users/me against bench/baseline),
# CONNECTIONS (4, load.sh's), ME_CONNECTIONS (32, bench/users-me.sh's), DURATION (10s), WARMUP (2s),
# LOAD_MAX (0.5), LOAD_WAIT_S (1200), LOAD_POLL_S (30).
#
# Every scenario is the reference's load.lua, unchanged (2 wrk threads x CONNECTIONS): history_list
# (page of 20), history_at, history_range (20 versions), user_actions_list (page of 10), user_actions_summary,
# resource_patch (a new description each time: every request writes a version). heed's read scenarios run
# with its default synchronous=NORMAL (reads do not sync); resource_patch runs on SQLite twice, with
# synchronous=NORMAL (heed's default) and FULL (the reference's SQLite setting, --sqlite-synchronous-full),
# and on PostgreSQL (synchronous_commit as the server has it). Databases are restored from the pristine
# copies before every round, so each round's resource_patch starts from the seeded versions.
#
# Output: results/<UTC time>/summary.tsv (every run: round, scenario, implementation, req/s, p50, p99,
# non-2xx, socket errors, requests, server CPU seconds, 1-min load before and after) and table.txt, also
# printed: per scenario and heed database, the mean over rounds of the reference's and heed's req/s, heed's
# ratio, and heed's p50/p99 (ms). users_me compares heed with bench/baseline, a bare net/http handler
# serving the same bytes. The table's layout is fixed, so two runs can be diffed.
set -euo pipefail

HEED_SRC=$PWD
WORK=${WORK:-${TMPDIR:-/tmp}/heed-side-by-side}
ANCHOR_SRC=${ANCHOR_SRC:-$HEED_SRC/../shared/bench/drf-reference}
PY=${PYTHON:-/usr/bin/python3}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
NO_POSTGRES=${NO_POSTGRES:-0}
ROUNDS=${ROUNDS:-2}
SCENARIO_LIST=${SCENARIO_LIST:-history_list history_at history_range user_actions_list user_actions_summary resource_patch}
USERS_ME=${USERS_ME:-1}
CONNECTIONS=${CONNECTIONS:-4}
ME_CONNECTIONS=${ME_CONNECTIONS:-32}
LOAD_MAX=${LOAD_MAX:-0.5}
LOAD_WAIT_S=${LOAD_WAIT_S:-1200}
LOAD_POLL_S=${LOAD_POLL_S:-30}
export DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s}

ANCHOR_PORT=8077 SQLITE_PORT=18341 PG_PORT=18342 BARE_PORT=18343
ANCHOR_URL=http://127.0.0.1:$ANCHOR_PORT
ANCHOR_DIR=$WORK/anchor
PRISTINE=$WORK/pristine
HEED_BIN=$WORK/heed
HEED_DB=$WORK/heed.db
PG_DB=heed_side_by_side
PG_PRISTINE=heed_side_by_side_pristine
MANIFEST=$ANCHOR_DIR/manifest.json
HEED_MANIFEST=$WORK/manifest-heed.json

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
pg_on() { [ "$NO_POSTGRES" != 1 ]; }
if_pg() { if pg_on; then echo "$@"; fi; } # words, when PostgreSQL is on
# The heed database URL on the PostgreSQL server: PG_URL with its database replaced.
pg_db_url() { "$PY" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_URL" "$1"; }
psql_admin() { psql "$PG_URL" -v ON_ERROR_STOP=1 -qAt -c "$1"; }

# ---------- servers (started here, stopped by their PIDs) ----------
anchor_pid= sqlite_pid= pg_pid= bare_pid=
start_anchor() {
  (cd "$ANCHOR_DIR" && ANCHOR_DB=$ANCHOR_DIR/anchor.sqlite3 exec "$PY" -m gunicorn --bind "127.0.0.1:$ANCHOR_PORT" \
    --workers 2 --worker-class sync --log-level warning anchor.wsgi:application) >>"$WORK/anchor-server.log" 2>&1 &
  anchor_pid=$!
  wait_healthy "$ANCHOR_URL" "$anchor_pid"
}
# start_heed sqlite|postgres [full]: heed serve with workers, user-action detection off (the imported
# actions have no objects behind them), synchronous=NORMAL unless full.
start_heed() {
  local db=$1 sync=${2:-normal} url port flags=()
  if [ "$db" = sqlite ]; then url=$HEED_DB port=$SQLITE_PORT; else url=$(pg_db_url "$PG_DB") port=$PG_PORT; fi
  [ "$sync" = full ] && flags+=(--sqlite-synchronous-full)
  "$HEED_BIN" serve --database-url "$url" --addr "127.0.0.1:$port" --log-level warn --drain-grace 0s "${flags[@]}" \
    --schedule user_actions_update=off --schedule user_actions_cleanup_dangling=off \
    --schedule user_actions_cleanup_silences=off --schedule user_actions_cleanup_executions=off \
    --schedule user_actions_digest=off >>"$WORK/heed-$db-server.log" 2>&1 &
  if [ "$db" = sqlite ]; then sqlite_pid=$!; else pg_pid=$!; fi
  wait_healthy "http://127.0.0.1:$port" $!
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
stop_heed() { stop_pid "$sqlite_pid"; sqlite_pid=; stop_pid "$pg_pid"; pg_pid=; }
stop_servers() { stop_pid "$anchor_pid"; anchor_pid=; stop_heed; stop_pid "$bare_pid"; bare_pid=; }
trap 'stop_servers' EXIT

server_pids() { echo "$1" $(ps -o pid= --ppid "$1" 2>/dev/null); }
cpu_ticks() { local t=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }

# ---------- setup ----------
need_packages() {
  local missing=()
  "$PY" -c 'import django, rest_framework, reversion, django_filters, gunicorn' 2>/dev/null ||
    missing+=(python3-django python3-djangorestframework python3-django-reversion python3-django-filters python3-gunicorn)
  for c in wrk jq curl sqlite3 psql; do
    command -v "$c" >/dev/null || case $c in psql) missing+=(postgresql-client) ;; *) missing+=("$c") ;; esac
  done
  [ ${#missing[@]} = 0 ] && return 0
  if [ "$(id -u)" = 0 ]; then
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    log "missing: ${missing[*]} (apt-get install them)"; exit 1
  fi
}

setup() {
  need_packages
  mkdir -p "$WORK" "$PRISTINE"
  log "copy and seed the reference (1000 resources x 100 versions, 1000 users x 20 actions)"
  rm -rf "$ANCHOR_DIR"
  cp -r "$ANCHOR_SRC" "$ANCHOR_DIR"
  chmod -R u+w "$ANCHOR_DIR"
  (cd "$ANCHOR_DIR" && ./run.sh true) 2>&1 | tee "$WORK/anchor-seed.log"
  build
  log "import into heed on SQLite"
  rm -f "$HEED_DB" "$HEED_DB-wal" "$HEED_DB-shm"
  "$HEED_BIN" migrate --database-url "$HEED_DB" --log-level warn
  "$WORK/anchorimport" --anchor "$ANCHOR_DIR/anchor.sqlite3" --database-url "$HEED_DB" | tee "$WORK/import.log"
  if pg_on; then
    log "import into heed on PostgreSQL ($PG_DB)"
    psql_admin "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
    psql_admin "DROP DATABASE IF EXISTS $PG_PRISTINE WITH (FORCE)"
    psql_admin "CREATE DATABASE $PG_DB"
    "$HEED_BIN" migrate --database-url "$(pg_db_url "$PG_DB")" --log-level warn
    "$WORK/anchorimport" --anchor "$ANCHOR_DIR/anchor.sqlite3" --database-url "$(pg_db_url "$PG_DB")" | tee -a "$WORK/import.log"
  fi
  # heed's created_after/created_before are strict (Waldur), the reference's inclusive: move the heed copy's
  # bounds out by one second so both select the same 20 versions per resource.
  jq '.history.range.created_after |= (sub("Z$"; "") | strptime("%Y-%m-%dT%H:%M:%S") | mktime - 1 | strftime("%Y-%m-%dT%H:%M:%SZ"))
      | .history.range.created_before |= (sub("Z$"; "") | strptime("%Y-%m-%dT%H:%M:%S") | mktime + 1 | strftime("%Y-%m-%dT%H:%M:%SZ"))' \
    "$MANIFEST" >"$HEED_MANIFEST"
  start_anchor; start_heed sqlite
  if pg_on; then start_heed postgres; fi
  local failures=0 port
  for port in $SQLITE_PORT $(if_pg "$PG_PORT"); do
    log "verify heed on port $port against the reference"
    "$PY" "$ANCHOR_SRC/import_anchor.py" verify "$ANCHOR_URL" "http://127.0.0.1:$port" "$ANCHOR_DIR/anchor.sqlite3" \
      "$MANIFEST" "$HEED_MANIFEST" | tee "$WORK/verify-history-$port.txt" | tail -n 1 || failures=$((failures + 1))
    verify_actions "http://127.0.0.1:$port" | tee "$WORK/verify-actions-$port.txt" | tail -n 1 || failures=$((failures + 1))
  done
  stop_servers
  [ "$failures" = 0 ] || { log "heed and the reference answer differently: see $WORK/verify-*.txt"; exit 1; }
  cp "$ANCHOR_DIR/anchor.sqlite3" "$HEED_DB" "$PRISTINE/"
  if pg_on; then psql_admin "CREATE DATABASE $PG_PRISTINE TEMPLATE $PG_DB"; fi
  log "setup done"
}

build() {
  log "build heed ($(git -C "$HEED_SRC" rev-parse --short HEAD)), bench/anchorimport and bench/baseline"
  go build -o "$HEED_BIN" ./cmd/heed
  go build -o "$WORK/anchorimport" ./bench/anchorimport
  go build -o "$WORK/baseline" ./bench/baseline
}

# Same user-action uuids in the same order (the default page, page_size=50, everything), same counts and
# summaries, for the first, second, middle and last users of the manifest.
verify_actions() { # heed_url
  local n failures=0 tok i path a h ca ch
  n=$(jq '.user_tokens | length' "$MANIFEST")
  for i in 0 1 $((n / 2)) $((n - 1)); do
    tok=$(jq -r ".user_tokens[$i]" "$MANIFEST")
    for path in "/api/user-actions/" "/api/user-actions/?page_size=50" "/api/user-actions/?include_silenced=true&page_size=300"; do
      a=$(curl -fsS -D "$WORK/h-a" -H "Authorization: Token $tok" "$ANCHOR_URL$path" | jq -c '[.[] | .uuid | gsub("-"; "")]')
      h=$(curl -fsS -D "$WORK/h-h" -H "Authorization: Token $tok" "$1$path" | jq -c '[.[] | .uuid | gsub("-"; "")]')
      ca=$(grep -i '^x-result-count' "$WORK/h-a" | tr -d '\r' | cut -d' ' -f2)
      ch=$(grep -i '^x-result-count' "$WORK/h-h" | tr -d '\r' | cut -d' ' -f2)
      if [ "$a" = "$h" ] && [ "$ca" = "$ch" ]; then echo "user $i $path: same $(jq length <<<"$a") uuids, count $ca"
      else echo "user $i $path: DIFFERENT (reference count $ca, heed count $ch)"; failures=$((failures + 1)); fi
    done
    a=$(curl -fsS -H "Authorization: Token $tok" "$ANCHOR_URL/api/user-actions/summary/" | jq -cS '{total, by_urgency, by_type, overdue}')
    h=$(curl -fsS -H "Authorization: Token $tok" "$1/api/user-actions/summary/" | jq -cS '{total, by_urgency, by_type, overdue}')
    if [ "$a" = "$h" ]; then echo "user $i summary: same $a"; else echo "user $i summary: DIFFERENT reference $a heed $h"; failures=$((failures + 1)); fi
  done
  echo "verify user actions: $([ "$failures" = 0 ] && echo "all same" || echo "$failures check(s) differ")"
  [ "$failures" = 0 ]
}

restore_dbs() {
  rm -f "$ANCHOR_DIR"/anchor.sqlite3* "$HEED_DB" "$HEED_DB-wal" "$HEED_DB-shm"
  cp "$PRISTINE/anchor.sqlite3" "$ANCHOR_DIR/anchor.sqlite3"
  cp "$PRISTINE/heed.db" "$HEED_DB"
  if pg_on; then
    psql_admin "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
    psql_admin "CREATE DATABASE $PG_DB TEMPLATE $PG_PRISTINE"
  fi
}

# ---------- measure ----------
# run_one round impl scenario: one load.sh run against impl (anchor, sqlite, sqlite-full, postgres).
run_one() {
  local round=$1 impl=$2 scenario=$3 url pid manifest=$HEED_MANIFEST
  case $impl in
    anchor) url=$ANCHOR_URL pid=$anchor_pid manifest=$MANIFEST ;;
    sqlite | sqlite-full) url=http://127.0.0.1:$SQLITE_PORT pid=$sqlite_pid ;;
    postgres) url=http://127.0.0.1:$PG_PORT pid=$pg_pid ;;
  esac
  local before; before=$(load1)
  local t0; t0=$(cpu_ticks $(server_pids "$pid"))
  local out
  out=$(cd "$ANCHOR_DIR" && SCENARIOS=$scenario THREADS=2 CONNECTIONS=$CONNECTIONS ./load.sh "$url" "$manifest" "$DURATION")
  local t1; t1=$(cpu_ticks $(server_pids "$pid"))
  echo "$out" >>"$RESULTS/raw-$round.txt"
  local rps p50 p99 non2xx sockerr requests
  read -r _ rps p50 p99 non2xx sockerr requests <<<"$(tail -n 1 <<<"$out")"
  local cpu_s; cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$scenario" "$impl" "$rps" "$p50" "$p99" \
    "$non2xx" "$sockerr" "$requests" "$cpu_s" "$before" "$(load1)" | tee -a "$RESULTS/summary.tsv" >&2
}

# users_me round impl: wrk on GET /api/users/me/ (as bench/users-me.sh: 2 threads x ME_CONNECTIONS) against
# heed (sqlite, postgres) or bare (bench/baseline serving the bytes heed answers).
users_me() {
  local round=$1 impl=$2 port pid
  case $impl in
    sqlite) port=$SQLITE_PORT pid=$sqlite_pid ;;
    postgres) port=$PG_PORT pid=$pg_pid ;;
    bare) port=$BARE_PORT pid=$bare_pid ;;
  esac
  local tok; tok=$(jq -r '.user_tokens[0]' "$MANIFEST")
  local before; before=$(load1)
  wrk -t2 -c"$ME_CONNECTIONS" -d"$WARMUP" -H "Authorization: Token $tok" "http://127.0.0.1:$port/api/users/me/" >/dev/null
  local t0; t0=$(cpu_ticks "$pid")
  local out; out=$(wrk -t2 -c"$ME_CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Token $tok" "http://127.0.0.1:$port/api/users/me/")
  local t1; t1=$(cpu_ticks "$pid")
  echo "== users_me $impl" >>"$RESULTS/raw-$round.txt"; echo "$out" >>"$RESULTS/raw-$round.txt"
  local ms='function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }'
  local rps p50 p99 non2xx requests sockerr
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk "$ms"' $1 == "50%" {printf "%.2f", ms($2)}' <<<"$out")
  p99=$(awk "$ms"' $1 == "99%" {printf "%.2f", ms($2)}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' <<<"$out"); sockerr=${sockerr:-0}
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  local cpu_s; cpu_s=$(awk -v a="$t0" -v b="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.1f", (b-a)/hz}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" users_me "$impl" "$rps" "$p50" "$p99" \
    "$non2xx" "$sockerr" "$requests" "$cpu_s" "$before" "$(load1)" | tee -a "$RESULTS/summary.tsv" >&2
}

round() { # r
  local r=$1 scenario impls
  log "round $r: restore the pristine databases, start the reference and heed"
  restore_dbs
  start_anchor; start_heed sqlite
  if pg_on; then start_heed postgres; fi
  for scenario in $SCENARIO_LIST; do
    impls="anchor sqlite $(if_pg postgres)"
    # Alternate who goes first, so neither always runs on the warmer machine.
    if [ $((r % 2)) = 0 ]; then impls="sqlite $(if_pg postgres) anchor"; fi
    for impl in $impls; do run_one "$r" "$impl" "$scenario"; done
    if [ "$scenario" = resource_patch ]; then
      stop_pid "$sqlite_pid"; sqlite_pid=
      start_heed sqlite full
      run_one "$r" sqlite-full resource_patch
      stop_pid "$sqlite_pid"; sqlite_pid=
      start_heed sqlite
    fi
  done
  if [ "$USERS_ME" = 1 ]; then
    curl -fsS -H "Authorization: Token $(jq -r '.user_tokens[0]' "$MANIFEST")" "http://127.0.0.1:$SQLITE_PORT/api/users/me/" >"$WORK/me.json"
    "$WORK/baseline" --body "$WORK/me.json" --addr "127.0.0.1:$BARE_PORT" >>"$WORK/baseline.log" 2>&1 &
    bare_pid=$!
    wait_healthy_path "http://127.0.0.1:$BARE_PORT/api/users/me/" "$bare_pid"
    stop_pid "$anchor_pid"; anchor_pid=
    for impl in bare sqlite $(if_pg postgres); do users_me "$r" "$impl"; done
  fi
  echo "versions after round $r: reference $(sqlite3 "$ANCHOR_DIR/anchor.sqlite3" 'SELECT COUNT(*) FROM reversion_version')," \
    "heed sqlite $(sqlite3 "$HEED_DB" 'SELECT COUNT(*) FROM versions')$(if pg_on; then echo ", heed postgres $(psql "$(pg_db_url "$PG_DB")" -qAt -c 'SELECT COUNT(*) FROM versions')"; fi)" \
    | tee -a "$RESULTS/versions.txt" >&2
  stop_servers
}
wait_healthy_path() { # url pid
  for _ in $(seq 100); do curl -fs "$1" >/dev/null && return 0; kill -0 "$2" 2>/dev/null || exit 1; sleep 0.1; done
  log "no answer at $1"; exit 1
}

# table: mean over rounds per scenario and implementation, heed against the reference (users_me: against bare).
table() {
  awk -F'\t' '
    NR == 1 { next }
    { k = $2 SUBSEP $3; n[k]++; rps[k] += $4; p50[k] += $5; p99[k] += $6; bad[k] += $7 + $8; seen[$2] = 1 }
    function row(sc, impl, base,   k, b, r) {
      k = sc SUBSEP impl; b = sc SUBSEP base
      if (!(k in n)) return
      r = (b in n) ? rps[b] / n[b] : 0
      printf "%-21s %-12s %10.1f %10.1f %8s %8.2f %8.2f %8.1f %6d\n", sc, impl, r, rps[k] / n[k],
        (r > 0 ? sprintf("%.2f", rps[k] / n[k] / r) : "-"), p50[k] / n[k], p99[k] / n[k],
        (p50[k] > 0 ? p99[k] / p50[k] : 0), bad[k]
    }
    END {
      printf "%-21s %-12s %10s %10s %8s %8s %8s %8s %6s\n", "scenario", "heed", "DRF_req/s", "heed_req/s", "ratio", "p50_ms", "p99_ms", "p99/p50", "errors"
      split("history_list history_at history_range user_actions_list user_actions_summary resource_patch", order, " ")
      for (i = 1; i <= 6; i++) {
        sc = order[i]; if (!(sc in seen)) continue
        row(sc, "sqlite", "anchor")
        if (sc == "resource_patch") row(sc, "sqlite-full", "anchor")
        row(sc, "postgres", "anchor")
      }
      if ("users_me" in seen) { row("users_me", "sqlite", "bare"); row("users_me", "postgres", "bare") }
    }' "$RESULTS/summary.tsv"
}

measure() {
  [ -f "$PRISTINE/heed.db" ] && [ -f "$PRISTINE/anchor.sqlite3" ] || { log "no pristine databases: run setup first"; exit 1; }
  need_packages
  RESULTS=$WORK/results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$RESULTS"
  build
  printf 'round\tscenario\timpl\treq_s\tp50_ms\tp99_ms\tnon2xx\tsockerr\trequests\tserver_cpu_s\tload1_before\tload1_after\n' >"$RESULTS/summary.tsv"
  {
    echo "heed: built from $(git -C "$HEED_SRC" rev-parse HEAD), $(git -C "$HEED_SRC" status --porcelain -- cmd internal go.mod go.sum | wc -l) uncommitted path(s) under cmd/ internal/ go.mod go.sum"
    echo "reference: $ANCHOR_SRC (1000 resources x 100 versions, 1000 users x 20 actions)"
    "$PY" -c 'import django, rest_framework, reversion, gunicorn, sqlite3; print("django", django.__version__, "drf", rest_framework.__version__, "reversion", reversion.__version__, "gunicorn", gunicorn.__version__, "sqlite", sqlite3.sqlite_version)'
    wrk -v 2>&1 | head -n 1 || true
    if pg_on; then psql "$PG_URL" -qAt -c 'SELECT version()'; fi
    echo "load.sh: 2 threads x $CONNECTIONS connections, $DURATION after $WARMUP warm-up; users_me: 2 threads x $ME_CONNECTIONS"
    nproc; uname -a
  } >"$RESULTS/env.txt"
  log "results in $RESULTS; waiting for 1-min load average < $LOAD_MAX (every ${LOAD_POLL_S}s, up to ${LOAD_WAIT_S}s)"
  local waited=0
  while :; do
    echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$RESULTS/loadavg-wait.txt"
    if awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN{exit !(l < m)}'; then log "load $(load1): start"; break; fi
    if [ "$waited" -ge "$LOAD_WAIT_S" ]; then log "load still $(load1) after ${waited}s: measuring anyway"; echo "gave up waiting at $(load1)" >>"$RESULTS/loadavg-wait.txt"; break; fi
    sleep "$LOAD_POLL_S"; waited=$((waited + LOAD_POLL_S))
  done
  local start_load; start_load=$(cut -d' ' -f1-3 /proc/loadavg)
  local r
  for r in $(seq "$ROUNDS"); do round "$r"; done
  {
    echo "# heed vs the DRF reference, $ROUNDS round(s), mean per scenario; load average at start: $start_load, at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# ratio: heed req/s / DRF req/s (users_me: heed / bare net/http); p50/p99: heed's, ms; errors: non-2xx + socket errors"
    table
  } | tee "$RESULTS/table.txt"
  log "done: $RESULTS"
}

case ${1:-all} in
  setup) setup ;;
  measure) measure ;;
  all) [ -f "$PRISTINE/heed.db" ] || setup; measure ;;
  *) echo "usage: $0 [setup|measure|all]" >&2; exit 2 ;;
esac
