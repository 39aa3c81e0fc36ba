# Sourced by the scripts that drive a running actas-dev from outside:
#   start_actas_dev [VARIABLE=VALUE ...]
# builds the debug actas-dev, starts it on embedded backends in a scratch
# data directory with the gateway on a free port (ACTAS_DEV_BASE, its URL)
# and every other address on port 0 unless a VARIABLE=VALUE says otherwise,
# waits until the gateway is ready (every gRPC port is bound before it),
# and stops it and removes the directory on exit. ACTAS_DEV_LOG is its log.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

start_actas_dev() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
    cargo build --locked --quiet --bin actas-dev
    ACTAS_DEV_DATA=$(mktemp -d)
    ACTAS_DEV_LOG="$ACTAS_DEV_DATA/actas-dev.log"
    local http="127.0.0.1:$(free_port)"
    ACTAS_DEV_BASE="http://$http"
    env ACTAS_DATA_DIR="$ACTAS_DEV_DATA" ACTAS_HTTP_ADDR="$http" ACTAS_ADMIN_ADDR=127.0.0.1:0 \
        ACTAS_PERMISSION_ADDR=127.0.0.1:0 ACTAS_TOKEN_ISSUER_ADDR=127.0.0.1:0 ACTAS_SESSION_ADDR=127.0.0.1:0 \
        RUST_LOG=warn "$@" "$CARGO_TARGET_DIR/debug/actas-dev" >"$ACTAS_DEV_LOG" 2>&1 &
    ACTAS_DEV_PID=$!
    trap 'kill "$ACTAS_DEV_PID" 2>/dev/null || true; wait "$ACTAS_DEV_PID" 2>/dev/null || true; rm -rf "$ACTAS_DEV_DATA"' EXIT
    for _ in $(seq 1 150); do
        curl -fsS "$ACTAS_DEV_BASE/readyz" >/dev/null 2>&1 && return 0
        kill -0 "$ACTAS_DEV_PID" 2>/dev/null || { cat "$ACTAS_DEV_LOG" >&2; echo "actas-dev exited" >&2; exit 1; }
        sleep 0.2
    done
    cat "$ACTAS_DEV_LOG" >&2
    echo "actas-dev was not ready in 30 s" >&2
    exit 1
}
