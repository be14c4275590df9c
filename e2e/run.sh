#!/usr/bin/env bash
# End-to-end tests of heed's webhook deliveries with independent Node reference
# libraries (see e2e/README.md). Builds heed, installs the pinned npm packages,
# and runs `node --test` on SQLite, then on PostgreSQL when
# HEED_TEST_POSTGRES_URL names a server. Fails loudly without node/npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "e2e: node/npm missing: installing nodejs npm from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  else
    echo "FAIL: e2e needs node (>= 20) and npm on PATH" >&2
    exit 1
  fi
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "FAIL: e2e needs node >= 20, found $(node --version)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/heed-e2e.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

echo "e2e: go build ./cmd/heed"
(cd "$root" && go build -o "$tmp/heed" ./cmd/heed)
export HEED_BIN="$tmp/heed"

echo "e2e: npm ci"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

cd "$here"
failed=()
echo "e2e: node --test (SQLite)"
env -u HEED_E2E_POSTGRES_URL node --test || failed+=(SQLite)

if [ -n "${HEED_TEST_POSTGRES_URL:-}" ]; then
  echo "e2e: node --test (PostgreSQL)"
  HEED_E2E_POSTGRES_URL="$HEED_TEST_POSTGRES_URL" node --test || failed+=(PostgreSQL)
else
  echo "e2e: HEED_TEST_POSTGRES_URL unset: PostgreSQL variant skipped"
fi
if [ "${#failed[@]}" -gt 0 ]; then
  echo "FAIL: e2e failed on: ${failed[*]}" >&2
  exit 1
fi
echo "e2e: ok"
