#!/usr/bin/env bash
# Load benchmark of the whole stack on real PostgreSQL and Redis.
#
#   scripts/bench.sh           release build; every scenario at concurrency
#                              1, 4, 16 and 64 for 10 s each (after 2 s warm-up),
#                              plus a pgbench single-row INSERT baseline,
#                              then revocations of 1,000, 10,000 and 100,000
#                              live impersonations at once;
#                              writes target/bench/results.md (and .json)
#   scripts/bench.sh --smoke   debug build; every scenario for 2 s at
#                              concurrency 4 and one revocation of 1,000:
#                              checks only that it completes without errors (CI)
#
# Starts the stack as deployed (actas-permission, actas-session,
# actas-token-issuer and actas-gateway, one process each, configured as in
# docker-compose.yml) on free ports against a fresh database, which it drops
# afterwards, and reports each process's resident memory. Redis is never
# flushed (tokens expire by themselves). Uses ACTAS_TEST_POSTGRES_URL and
# ACTAS_TEST_REDIS_URL like scripts/test.sh.
# BENCH_CONCURRENCY (e.g. 1,16,64), BENCH_DURATION (e.g. 10s),
# BENCH_DATABASE_SSLMODE (default disable) and RUST_LOG (default warn for
# the stack) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "scripts/bench.sh: $*" >&2
    exit 1
}

mode=full
case "${1:-}" in
    "") ;;
    --smoke) mode=smoke ;;
    -h | --help)
        sed -n '2,20p' "$0"
        exit 0
        ;;
    *) fail "unknown argument $1 (try --smoke or --help)" ;;
esac

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
postgres_admin_url="${ACTAS_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
redis_url="${ACTAS_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
out=target/bench
mkdir -p "$out"

# --- backends: the same ones the tests use, started when installed but stopped
scripts/backends.sh
command -v psql >/dev/null || fail "psql is needed to create the scratch database (Debian: apt-get install postgresql-client)."

# --- build
if [ "$mode" = smoke ]; then
    cargo build --locked --bin actas-permission --bin actas-session \
        --bin actas-token-issuer --bin actas-gateway --bin actas-bench
    bin="$CARGO_TARGET_DIR/debug"
    build=debug
    concurrency="${BENCH_CONCURRENCY:-4}"
    duration="${BENCH_DURATION:-2s}"
    warmup=500ms
    revocation_sizes=1000
else
    cargo build --locked --release --bin actas-permission --bin actas-session \
        --bin actas-token-issuer --bin actas-gateway --bin actas-bench
    bin="$CARGO_TARGET_DIR/release"
    build=release
    concurrency="${BENCH_CONCURRENCY:-1,4,16,64}"
    duration="${BENCH_DURATION:-10s}"
    warmup=2s
    revocation_sizes=1000,10000,100000
fi

# --- scratch databases and the stack, removed on exit whatever happens
database="actas_bench_$$_$(date +%s)"
baseline_database="${database}_pgbench"
# Plaintext to the database, as in docker-compose.yml (its PostgreSQL
# serves no TLS); BENCH_DATABASE_SSLMODE=prefer measures with TLS.
database_url="${postgres_admin_url%/*}/$database?sslmode=${BENCH_DATABASE_SSLMODE:-disable}"
services=(actas-permission actas-session actas-token-issuer actas-gateway)
declare -A pids=()
workdir=$(mktemp -d)
cleanup() {
    for name in "${!pids[@]}"; do kill -TERM "${pids[$name]}" 2>/dev/null || true; done
    for name in "${!pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "${pids[$name]}" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "${pids[$name]}" 2>/dev/null || true
    done
    for db in "$database" "$baseline_database"; do
        psql "$postgres_admin_url" -qAt -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$workdir"
}
trap cleanup EXIT
psql "$postgres_admin_url" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE $database" >/dev/null

# --- baseline: what this PostgreSQL does with one committed single-row INSERT per transaction
baseline_args=()
baseline_note="pgbench is not installed: no baseline."
if [ "$mode" = full ] && command -v pgbench >/dev/null; then
    baseline_url="${postgres_admin_url%/*}/$baseline_database"
    psql "$postgres_admin_url" -v ON_ERROR_STOP=1 -qAt -c "CREATE DATABASE $baseline_database" >/dev/null
    psql "$baseline_url" -v ON_ERROR_STOP=1 -qAt -c \
        "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())" >/dev/null
    echo "INSERT INTO bench_insert (payload) VALUES ('018f8d3a5e007000800000000000c001');" >"$workdir/insert.sql"
    echo "baseline: pgbench, one single-row INSERT per transaction, 16 clients, 5 s"
    pgbench -n -c 16 -j 2 -T 5 -f "$workdir/insert.sql" "$baseline_url" >"$out/pgbench.log" 2>&1 \
        || fail "pgbench failed: see $out/pgbench.log"
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$out/pgbench.log" | head -n 1)
    [ -n "$tps" ] || fail "no tps in $out/pgbench.log"
    baseline_args=(--baseline-per-sec "$tps" --baseline-label "pgbench single-row INSERT (16 clients, 5 s)")
    baseline_note="The baseline inserts one row per transaction into a table with a bigserial primary key, a text and a timestamptz column (synchronous_commit = $(psql "$baseline_url" -qAt -c 'SHOW synchronous_commit')); pgbench ran on the same machine just before the scenarios."
elif [ "$mode" = smoke ]; then
    baseline_note="Smoke run: no baseline."
fi

# --- start the stack on free ports (never the defaults 8080/5005x of a dev run)
declare -A taken=()
free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if [ -z "${taken[$port]:-}" ] && ! (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
            taken[$port]=1
            echo "$port"
            return
        fi
    done
    fail "no free port found"
}
http_port=$(free_port)
permission_url="http://127.0.0.1:$(free_port)"
token_issuer_url="http://127.0.0.1:$(free_port)"
session_url="http://127.0.0.1:$(free_port)"
base_url="http://127.0.0.1:$http_port"
export RUST_LOG="${RUST_LOG:-warn}"

: >"$out/setup.log"
for step in "actas-permission migrate" "actas-session migrate" "actas-permission seed-demo"; do
    # shellcheck disable=SC2086 # the step is a binary and its command
    DATABASE_URL="$database_url" "$bin"/$step >>"$out/setup.log" 2>&1 || fail "$step failed: see $out/setup.log"
done

start() {
    local name=$1
    shift
    env ACTAS_ADMIN_ADDR="127.0.0.1:$(free_port)" "$@" "$bin/$name" >"$out/$name.log" 2>&1 &
    pids[$name]=$!
}
start actas-permission ACTAS_GRPC_ADDR="${permission_url#http://}" DATABASE_URL="$database_url"
start actas-session ACTAS_GRPC_ADDR="${session_url#http://}" DATABASE_URL="$database_url" \
    ACTAS_PERMISSION_URL="$permission_url" ACTAS_TOKEN_ISSUER_URL="$token_issuer_url"
start actas-token-issuer ACTAS_GRPC_ADDR="${token_issuer_url#http://}" REDIS_URL="$redis_url"
# The bench measures throughput from one address: the rate limits would
# be what it measures, so they are off here.
start actas-gateway ACTAS_HTTP_ADDR="127.0.0.1:$http_port" ACTAS_PERMISSION_URL="$permission_url" \
    ACTAS_SESSION_URL="$session_url" ACTAS_TOKEN_ISSUER_URL="$token_issuer_url" \
    ACTAS_ISSUE_LIMIT_PER_MINUTE=0 ACTAS_REDEEM_LIMIT_PER_MINUTE=0 ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE=0
echo "stack on $base_url, database $database; logs: $out/actas-*.log"
alive() {
    local name
    for name in "${services[@]}"; do
        kill -0 "${pids[$name]}" 2>/dev/null || { echo "$name exited: see $out/$name.log" >&2; return 1; }
    done
}
# Resident memory of a process, from the kernel: VmRSS (now) or VmHWM (its peak).
memory() {
    sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/${pids[$1]}/status" 2>/dev/null \
        | awk '{ printf "%.1f MiB", $1 / 1024 }'
}

# --- run
status=0
rm -f "$out/table.md" "$out/results.json" "$out/revocation.md" "$out/revocation.json"
"$bin/actas-bench" --base-url "$base_url" --wait-ready 60s --scenario bare-handler --count 1 --warmup 0s >/dev/null \
    || { alive || true; fail "the stack did not get ready: see $out/actas-*.log"; }
sleep 2
declare -A idle_rss=()
for name in "${services[@]}"; do idle_rss[$name]=$(memory "$name" VmRSS); done
# CPU per flow of each service process, and of PostgreSQL (the postmaster
# and every backend, found from its pid file) when this user can read it.
cpu_args=()
for name in "${services[@]}"; do cpu_args+=(--cpu-process "${name#actas-}=${pids[$name]}"); done
data_directory=$(psql "$postgres_admin_url" -qAt -c 'SHOW data_directory' 2>/dev/null || true)
postmaster=$(head -n 1 "$data_directory/postmaster.pid" 2>/dev/null || true)
if [ -n "$postmaster" ] && [ -r "/proc/$postmaster/stat" ]; then
    cpu_args+=(--cpu-tree "postgres=$postmaster")
    cpu_note="CPU per flow is read from /proc (utime + stime) for each service process and for PostgreSQL's postmaster with all its backends; Redis and the load generator are not counted."
else
    cpu_note="CPU per flow is read from /proc for each service process; PostgreSQL's postmaster could not be found (not local, or its data directory is not readable here), so its CPU is not counted."
fi
# The in-process scenario runs the services' logic inside actas-bench, on
# the same database and Redis: the cost of the split is read against it.
"$bin/actas-bench" --base-url "$base_url" --database-url "$database_url" --redis-url "$redis_url" \
    --concurrency "$concurrency" --duration "$duration" --warmup "$warmup" \
    --json "$out/results.json" --markdown "$out/table.md" "${baseline_args[@]}" \
    "${cpu_args[@]}" --clock-ticks "$(getconf CLK_TCK)" \
    | tee "$out/bench.log" || status=$?
alive || status=1
# Revocation is one call ending many sessions: measured on its own, with
# the CPU each process spends per thousand sessions ended.
"$bin/actas-bench" --base-url "$base_url" --database-url "$database_url" \
    --revocation-sessions "$revocation_sizes" --timeout 60s \
    --json "$out/revocation.json" --markdown "$out/revocation.md" \
    "${cpu_args[@]}" --clock-ticks "$(getconf CLK_TCK)" \
    | tee -a "$out/bench.log" || status=$?
alive || status=1
memory_table=$(
    echo "| process | idle RSS | peak RSS (high-water mark) |"
    echo "|---|---:|---:|"
    for name in "${services[@]}"; do echo "| $name | ${idle_rss[$name]} | $(memory "$name" VmHWM) |"; done
)
echo "$memory_table"

{
    echo "# actas-bench results ($mode)"
    echo
    echo "- when: $(date -u '+%Y-%m-%d %H:%M UTC'); commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (with local changes)')"
    echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1); load generator on the same machine"
    echo "- stack: the four services, one process each ($build build), $(psql "$postgres_admin_url" -qAt -c 'SHOW server_version' 2>/dev/null | sed 's/^/PostgreSQL /'), Redis $(redis-cli -u "$redis_url" INFO server 2>/dev/null | sed -n 's/^redis_version:\([^[:space:]]*\).*/\1/p')"
    echo "- database connections: sslmode=${BENCH_DATABASE_SSLMODE:-disable}"
    echo "- each cell: $warmup warm-up, then $duration measured; one HTTP client (keep-alive) per worker; latency of one whole flow"
    echo
    [ -f "$out/table.md" ] && cat "$out/table.md"
    echo
    if [ -f "$out/revocation.md" ]; then
        echo "Revoking many live impersonations of one customer at once (\`POST /api/_action/impersonations/revoke {targetId}\`; the sessions written straight into the table, one made through the flow and checked refused after):"
        echo
        cat "$out/revocation.md"
        echo
    fi
    echo "Resident memory of each process: idle after start, and the peak over the whole run."
    echo
    echo "$memory_table"
    echo
    echo "$baseline_note"
    echo
    echo "$cpu_note"
} >"$out/results.md"
echo "results: $out/results.md"
exit "$status"
