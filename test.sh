#!/usr/bin/env bash
# Set everything up and run the whole test suite. Extra arguments go to pytest.
# Test files run side by side in RAVEBEAR_TEST_WORKERS processes (default 4: the suite mostly waits on
# sockets and subprocesses, so more workers than cores pays). One file stays on one worker (--dist loadfile),
# so a module's shared backtest runs once. RAVEBEAR_TEST_WORKERS=0 runs everything in one process.
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh test
workers="${RAVEBEAR_TEST_WORKERS:-4}"
if [ "$workers" = "0" ]; then
    exec .venv/bin/python -m pytest "$@"
fi
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile "$@"
