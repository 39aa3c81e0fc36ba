#!/usr/bin/env bash
# Runs every test of the workspace against real PostgreSQL and Redis.
#
# Uses the servers at ACTAS_TEST_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/postgres) and ACTAS_TEST_REDIS_URL
# (default redis://127.0.0.1:6379). When those are the local defaults and the
# servers are installed but stopped, it starts them. Tests create (and drop)
# their own databases and use their own Redis key prefixes: nothing is
# flushed. Tests that stop Redis start their own redis-server on a free port.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/backends.sh

# Run, then close with one total over every test binary.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "Tests: %d passed, %d failed\n", p, f }' "$log"
exit "$status"
