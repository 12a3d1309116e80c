#!/usr/bin/env bash
# Record what the shipped configs do, to prove a refactor changed nothing.
# Runs the shipped backtest configs and a paper replay of the parity config (tests/platform/test_paper_parity.py's
# settings) through the CLI, then keeps each run folder's orders, fills, positions, account, guard events,
# funding and summary (minus wall-clock timings and run ids) under OUT.
# Usage: scripts/snapshot_runs.sh OUT            then: scripts/compare_runs.py BEFORE AFTER
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:?usage: scripts/snapshot_runs.sh OUT}")"
work="$out/work"
rm -rf "$out" && mkdir -p "$work"
rb=.venv/bin/ravebear
catalog="$work/catalog"
$rb catalog import-sample --catalog "$catalog" >/dev/null
shared=../shared/data/ohlcv_1m
for sym in BTC ETH SOL; do
    $rb catalog import "$shared/binance_usdm_${sym}USDT_1m_20250504_20250624.parquet" -i "${sym}USDT-PERP.BINANCE" --catalog "$catalog" >/dev/null
done
trades_book=../shared/data/trades_book/binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z_  # orderflow-zone-defense.yaml's data
$rb catalog import-orderflow "${trades_book}trades.parquet" "${trades_book}depthdiff.parquet" --catalog "$catalog" >/dev/null
run() {  # name config [command]
    local name=$1 config=$2 cmd=${3:-backtest}
    local runs="$work/runs-$name"
    if [ "$cmd" = backtest ]; then
        $rb backtest "$config" --catalog "$catalog" --output "$runs" >"$work/$name.log" 2>&1
    else
        $rb paper "$config" --catalog "$catalog" --output "$runs" --no-dashboard >"$work/$name.log" 2>&1
    fi
    .venv/bin/python scripts/compare_runs.py --keep "$(ls -d "$runs"/*/ | head -1)" "$out/$name"
    echo "$name: $(cat "$out/$name/summary.json" | tr -d '\n' | cut -c1-160)"
}
run default config/backtest.yaml
for config in config/backtests/*.yaml; do run "$(basename "$config" .yaml)" "$config"; done
.venv/bin/python -c "from tests.platform.test_paper_parity import parity_run_file; print(parity_run_file())" >"$work/parity.yaml"
run parity-backtest "$work/parity.yaml"
run parity-paper "$work/parity.yaml" paper
rm -rf "$work"
