#!/usr/bin/env bash
# Set everything up and run the default backtest on the bundled OKX sample; prints where the report is.
# Usage: ./run.sh [CONFIG]   (default config/backtest.yaml)
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
.venv/bin/ravebear catalog import-sample --if-empty
exec .venv/bin/ravebear backtest "${1:-config/backtest.yaml}"
