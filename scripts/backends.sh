#!/usr/bin/env bash
# Makes sure the real backends the tests and benchmarks use are up: the
# PostgreSQL at ACTAS_TEST_POSTGRES_URL (default 127.0.0.1:5432) and the
# Redis at ACTAS_TEST_REDIS_URL (default 127.0.0.1:6379), starting local
# servers that are installed but stopped, and saying what to install when
# they are missing, and installs Debian's chromium and chromium-driver
# for the browser tests. Never flushes or stops anything.
set -euo pipefail

fail() {
    echo "scripts/test.sh: $*" >&2
    exit 1
}

postgres_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }

if [ -z "${ACTAS_TEST_POSTGRES_URL:-}" ] && ! postgres_up; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        echo "starting the local PostgreSQL cluster"
        for version in /etc/postgresql/*; do
            pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
        done
        for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
    fi
    postgres_up || fail "PostgreSQL is not running on 127.0.0.1:5432: install and start it (Debian: apt-get install postgresql, with trust auth for user postgres on 127.0.0.1) or set ACTAS_TEST_POSTGRES_URL."
fi

command -v redis-server >/dev/null \
    || fail "redis-server is not installed: install it (Debian: apt-get install redis-server); tests start their own instances of it."

if [ -z "${ACTAS_TEST_REDIS_URL:-}" ] && ! redis_up; then
    echo "starting a local Redis on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
    for _ in $(seq 1 30); do redis_up && break; sleep 0.2; done
    redis_up || fail "Redis did not start on 127.0.0.1:6379; start it or set ACTAS_TEST_REDIS_URL."
fi

# The browser tests drive Debian's headless Chromium through chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    command -v apt-get >/dev/null \
        || fail "the browser tests need /usr/bin/chromium and /usr/bin/chromedriver (Debian: chromium, chromium-driver)."
    echo "installing chromium and chromium-driver for the browser tests"
    sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq chromium chromium-driver >/dev/null
    [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] \
        || fail "installing chromium and chromium-driver failed."
fi
