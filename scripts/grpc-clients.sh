#!/usr/bin/env bash
# The gRPC ports as a client from outside Rust sees them: starts actas-dev
# (embedded backends) on free ports and runs scripts/grpc_clients_check.py
# with Python's grpcio and grpcio-reflection (PyPI, pinned, in a venv kept
# under ${XDG_CACHE_HOME:-~/.cache}/actas-tools, or ACTAS_TOOLS_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS="grpcio==1.85.3
grpcio-reflection==1.85.1
protobuf==7.36.2
typing_extensions==4.16.0"

# shellcheck source=scripts/python-tools.sh
. scripts/python-tools.sh
python_tools grpc-venv "$REQUIREMENTS"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --locked --quiet --bin actas-dev
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
permission="127.0.0.1:$(free_port)"
token_issuer="127.0.0.1:$(free_port)"
session="127.0.0.1:$(free_port)"
data=$(mktemp -d)
log="$data/actas-dev.log"
ACTAS_DATA_DIR="$data" ACTAS_HTTP_ADDR="127.0.0.1:$(free_port)" ACTAS_ADMIN_ADDR="127.0.0.1:$(free_port)" \
    ACTAS_PERMISSION_ADDR="$permission" ACTAS_TOKEN_ISSUER_ADDR="$token_issuer" ACTAS_SESSION_ADDR="$session" \
    RUST_LOG=warn "$CARGO_TARGET_DIR/debug/actas-dev" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for address in "$permission" "$token_issuer" "$session"; do
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/${address%:*}/${address#*:}") 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "actas-dev exited" >&2; exit 1; }
        sleep 0.2
    done
done
"$VENV/bin/python" scripts/grpc_clients_check.py "$permission" "$token_issuer" "$session"
