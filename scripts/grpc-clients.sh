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

# shellcheck source=scripts/actas-dev-run.sh
. scripts/actas-dev-run.sh
permission="127.0.0.1:$(free_port)"
token_issuer="127.0.0.1:$(free_port)"
session="127.0.0.1:$(free_port)"
start_actas_dev ACTAS_PERMISSION_ADDR="$permission" ACTAS_TOKEN_ISSUER_ADDR="$token_issuer" ACTAS_SESSION_ADDR="$session"
"$VENV/bin/python" scripts/grpc_clients_check.py "$permission" "$token_issuer" "$session"
