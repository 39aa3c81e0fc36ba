# Sourced by the scripts that need pinned Python tools from PyPI:
#   python_tools NAME REQUIREMENTS
# makes (or reuses) the venv ${XDG_CACHE_HOME:-~/.cache}/actas-tools/NAME
# (or under ACTAS_TOOLS_DIR) holding exactly REQUIREMENTS (one pinned
# package per line) and sets VENV to it. Kept between runs; rebuilt when the
# requirements change; one installer at a time per venv (two CI runs on one
# machine share the cache).

python_tools() {
    local name=$1 requirements=$2
    local tools_dir="${ACTAS_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/actas-tools}"
    VENV="$tools_dir/$name"
    local stamp="$VENV/.actas-requirements"
    command -v python3 >/dev/null || { echo "FAIL: python3 is required (CPython 3.9+)" >&2; return 1; }
    mkdir -p "$tools_dir"
    exec 9>"$tools_dir/.$name.lock"
    flock 9
    if [[ -x "$VENV/bin/python" && -f "$stamp" ]] && [[ "$(cat "$stamp")" == "$requirements" ]]; then
        exec 9>&-
        return 0
    fi
    echo "installing $name into $VENV (PyPI, pinned)"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's own python3 keeps venv in a separate package.
        rm -rf "$VENV"
        if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
            apt-get install -y -qq python3-venv >/dev/null ||
                { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
        fi
        python3 -m venv "$VENV"
    fi
    local reqs
    reqs=$(mktemp)
    printf '%s\n' "$requirements" >"$reqs"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$reqs"
    rm -f "$reqs"
    printf '%s' "$requirements" >"$stamp"
    exec 9>&-
}
