#!/usr/bin/env bash
# Create .venv with a Python 3.12 interpreter and install RaveBear into it (idempotent).
# Usage: scripts/setup.sh [test]   ("test" adds the test extras)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mode="${1:-run}"

is_312() { "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' >/dev/null 2>&1; }

find_python312() {
    local candidates=("${RAVEBEAR_PYTHON:-}" python3.12 python3)
    # pyenv reads .python-version (3.12) in this folder, so its shims resolve to 3.12 here.
    if command -v pyenv >/dev/null 2>&1; then
        candidates+=("$(pyenv root)"/versions/3.12*/bin/python3.12)
    fi
    local candidate
    for candidate in "${candidates[@]}"; do
        [ -n "$candidate" ] || continue
        if is_312 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! is_312 .venv/bin/python; then
    if ! PY=$(find_python312); then
        echo "RaveBear needs Python 3.12 (nautilus_trader 1.231 has no wheel for other versions)." >&2
        echo "Install it (e.g. 'apt install python3.12 python3.12-venv' or 'pyenv install 3.12')," >&2
        echo "or point RAVEBEAR_PYTHON at a python3.12 executable." >&2
        exit 1
    fi
    echo "setup: creating .venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    rm -rf .venv
    "$PY" -m venv .venv
fi

stamp=".venv/.ravebear-installed-$mode"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing RaveBear and its dependencies into .venv (the first time takes a minute or two)"
    extras=""
    if [ "$mode" = "test" ]; then extras="[test,bench]"; fi  # bench: backtrader, the benchmarks' outside reference
    log=.venv/pip-install.log
    if ! .venv/bin/python -m pip install --disable-pip-version-check -e ".${extras}" >"$log" 2>&1; then
        grep -v "WARNING: Location" "$log" | tail -30 >&2
        echo "setup: pip install failed; full log in $log" >&2
        exit 1
    fi
    touch "$stamp"
fi

# The risk-report test renders the HTML in a headless browser; without one it skips.
has_browser() { command -v chromium || command -v chromium-browser || command -v google-chrome; } >/dev/null 2>&1

install_chromium() {
    local run=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null || return 1
        run=(sudo -n)
    fi
    command -v apt-get >/dev/null 2>&1 || return 1
    local apt=(${run[@]+"${run[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get)
    "${apt[@]}" install -y -q chromium || { "${apt[@]}" update -q && "${apt[@]}" install -y -q chromium; }
}

if [ "$mode" = "test" ] && ! has_browser; then
    log=.venv/apt-chromium.log
    if install_chromium >"$log" 2>&1 && has_browser; then
        echo "setup: installed chromium for the risk-report browser test"
    else
        echo "setup: no chromium and it could not be installed (log: $log); the risk-report browser test will be skipped"
    fi
fi
exit 0
