#!/usr/bin/env bash
# Create .venv with a Python 3.12 interpreter and install RaveBear into it (idempotent).
# Sourced by run.sh and test.sh; prints what is missing when it cannot continue.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

find_python312() {
    local candidate
    # pyenv reads .python-version (3.12) in this folder, so its shims resolve to 3.12 here.
    for candidate in "${RAVEBEAR_PYTHON:-}" python3.12 python3 "$(command -v pyenv >/dev/null 2>&1 && pyenv root)/versions/3.12"*/bin/python3.12; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ]; then
            if "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' 2>/dev/null; then
                echo "$candidate"
                return 0
            fi
        fi
    done
    return 1
}

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 12) else 1)' 2>/dev/null; then
    if ! PY=$(find_python312); then
        echo "RaveBear needs Python 3.12 (nautilus_trader 1.231 has no wheel for other versions)." >&2
        echo "Install it (e.g. 'apt install python3.12 python3.12-venv' or 'pyenv install 3.12'), or set RAVEBEAR_PYTHON=/path/to/python3.12." >&2
        exit 1
    fi
    echo "setup: creating .venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    rm -rf .venv
    "$PY" -m venv .venv
fi

stamp=.venv/.ravebear-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ "${1:-}" = "test" -a ! -f .venv/.ravebear-test ]; then
    echo "setup: installing RaveBear and its dependencies into .venv (first run takes a minute)"
    .venv/bin/python -m pip install --quiet --upgrade pip >/dev/null
    extras=""
    [ "${1:-}" = "test" ] && extras="[test]"
    .venv/bin/python -m pip install --quiet -e ".${extras}"
    touch "$stamp"
    [ "${1:-}" = "test" ] && touch .venv/.ravebear-test
fi
