#!/usr/bin/env bash
# The HTTP contract as a property-based fuzzer reads it: starts actas-dev
# (embedded backends, rate limits off) on free ports, signs in the demo
# admin, operator, a coworker and a customer, and runs Schemathesis
# (PyPI, pinned, in a venv kept under ${XDG_CACHE_HOME:-~/.cache}/actas-tools
# or ACTAS_TOOLS_DIR) against the served /api/openapi.json for
# ACTAS_FUZZ_SECONDS (default 120). Fails on any 5xx, any status, content
# type, header or body the document does not allow, and any crash.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUIREMENTS="schemathesis==4.32.5
hypothesis==6.170.17
hypothesis-graphql==0.13.5
jsonschema_rs==0.60.3
requests==2.34.2
urllib3==2.8.0
anyio==4.16.0
certifi==2026.10.19.post1
charset-normalizer==3.5.3
click==8.5.1
graphql-core==3.3.2
harfile==0.6.0
idna==3.20
iniconfig==2.3.1
markdown-it-py==4.3.0
MarkupSafe==3.0.4
mdurl==0.1.2
packaging==26.4
pluggy==1.7.0
Pygments==2.21.0
pyrate-limiter==4.5.1
pytest==9.2.0
PyYAML==6.0.4
rich==15.0.0
sortedcontainers==2.4.0
typing_extensions==4.16.0
Werkzeug==3.1.9"

# shellcheck source=scripts/python-tools.sh
. scripts/python-tools.sh
python_tools schemathesis-venv "$REQUIREMENTS"

# shellcheck source=scripts/actas-dev-run.sh
. scripts/actas-dev-run.sh
start_actas_dev ACTAS_ISSUE_LIMIT_PER_MINUTE=0 ACTAS_REDEEM_LIMIT_PER_MINUTE=0 ACTAS_GUEST_CONTEXT_LIMIT_PER_MINUTE=0
base="$ACTAS_DEV_BASE"

# Real credentials, from the demo directory.
field() { "$VENV/bin/python" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }
post() { curl -fsS -X POST "$base$1" -H 'content-type: application/json' "${@:3}" -d "$2"; }
export ACTAS_ADMIN_BEARER ACTAS_OPERATOR_BEARER ACTAS_PUBLIC_BEARER ACTAS_ACCESS_KEY ACTAS_CONTEXT_TOKEN
ACTAS_ADMIN_BEARER=$(post /api/oauth/token \
    '{"grant_type":"password","client_id":"administration","username":"admin@example.com","password":"admin-demo-password"}' | field access_token)
ACTAS_OPERATOR_BEARER=$(post /api/sys/auth/login '{"email":"ops@example.com","password":"ops-demo-password"}' | field access_token)
ACTAS_PUBLIC_BEARER=$(post /api/public/auth/login '{"email":"tina@example.com","password":"tina-demo-password"}' | field access_token)
ACTAS_ACCESS_KEY=SWSCDEMOEU0000000000000000
ACTAS_CONTEXT_TOKEN=$(post /store-api/account/login '{"email":"alice@example.com","password":"alice-demo-password"}' \
    -H "sw-access-key: $ACTAS_ACCESS_KEY" | field contextToken)

report="${ACTAS_FUZZ_REPORT:-$ACTAS_DEV_DATA/report}"
status=0
"$VENV/bin/schemathesis" --config-file tests/contract/schemathesis.toml run "$base/api/openapi.json" \
    --url "$base" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --max-time "${ACTAS_FUZZ_SECONDS:-120}" --workers 1 --max-redirects 0 --request-timeout 20 \
    --generation-database none --no-color \
    --report junit --report-dir "$report" || status=$?
if [[ $status != 0 ]]; then
    echo "contract fuzzing failed (exit $status); actas-dev's log:" >&2
    tail -50 "$ACTAS_DEV_LOG" >&2
fi
exit "$status"
