"""Helpers the benchmarks share: the real 1-minute series, their chaining, child-process figures, tables.

Imports neither pandas nor nautilus at module level: a benchmark's parent process stays small, so
the peak RSS its children report (Linux carries ru_maxrss across fork+exec) is their own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
# the team's real-data folder: $RAVEBEAR_SHARED_DATA, ../shared/data beside the repo, or the workplace's /work/shared/data
_CANDIDATES = [Path(p) for p in (os.environ.get("RAVEBEAR_SHARED_DATA"), REPO_ROOT.parent / "shared" / "data", "/work/shared/data") if p]
SHARED_DATA = next((p for p in _CANDIDATES if p.exists()), _CANDIDATES[0])
DATA_DIR = SHARED_DATA / "ohlcv_1m"
SEGMENT_FILES = (  # the Binance USD-M BTCUSDT segments, oldest first
    "binance_usdm_BTCUSDT_1m_20230718_20230817.parquet",
    "binance_usdm_BTCUSDT_1m_20250504_20250624.parquet",
    "binance_usdm_BTCUSDT_1m_20250706_20250717.parquet",
)
TICK = 0.1  # BTCUSDT's price increment
MINUTE_MS = 60_000
RESULT_MARKER = "BENCH_RESULT "


# -- data ----------------------------------------------------------------------------------


def usdm_segment_files(symbol: str) -> tuple[str, ...]:
    """Return the names of the Binance USD-M 1-minute files of `symbol` (e.g. "ETHUSDT"), oldest first."""
    return tuple(sorted(path.name for path in DATA_DIR.glob(f"binance_usdm_{symbol}_1m_*.parquet")))


def load_segments(files: tuple[str, ...] = SEGMENT_FILES) -> list[pd.DataFrame]:
    """Read real 1-minute segments (default: Binance USD-M BTCUSDT), in the given order."""
    import pandas as pd

    return [pd.read_parquet(DATA_DIR / name, columns=["ts", "open", "high", "low", "close", "volume"]) for name in files]


def chain_segments(segments: list[pd.DataFrame], n_bars: int, tick: float = TICK) -> tuple[pd.DataFrame, int]:
    """Chain real segments (repeating the set) into an `n_bars` series; return it and the segment count.

    Each segment starts one minute after the previous one ends and is rescaled so its first open
    equals the previous last close; prices are rounded to `tick` (rounding is monotonic, so
    low <= open, close <= high still holds).
    """
    import numpy as np
    import pandas as pd

    decimals = max(0, -int(Decimal(str(tick)).normalize().as_tuple().exponent))
    parts: list[pd.DataFrame] = []
    total = 0
    last_ts: int | None = None
    last_close: float | None = None
    while total < n_bars:
        seg = segments[len(parts) % len(segments)].iloc[: n_bars - total]
        ts = seg["ts"].to_numpy(dtype=np.int64)
        if last_ts is not None:
            ts = ts - ts[0] + last_ts + MINUTE_MS
        scale = 1.0 if last_close is None else last_close / float(seg["open"].iloc[0])
        part = pd.DataFrame({"ts": ts})
        for column in ("open", "high", "low", "close"):
            part[column] = (np.round(seg[column].to_numpy(dtype=np.float64) * scale / tick) * tick).round(decimals)
        part["volume"] = seg["volume"].to_numpy(dtype=np.float64)
        parts.append(part)
        total += len(part)
        last_ts = int(ts[-1])
        last_close = float(part["close"].iloc[-1])
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    return frame, len(parts)


# -- child processes -----------------------------------------------------------------------


def peak_rss() -> dict[str, float]:
    """Return this process's peak RSS in MiB: ru_maxrss, and VmHWM (this address space only)."""
    hwm_kb = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                hwm_kb = int(line.split()[1])
    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "vm_hwm_mb": hwm_kb / 1024}


def count_fills(orders: list[Any]) -> int:
    """Return the number of OrderFilled events over the given orders."""
    from nautilus_trader.model.events import OrderFilled

    return sum(isinstance(event, OrderFilled) for order in orders for event in order.events)


def run_module_child(module: str, args: list[str], timeout_s: float) -> dict[str, Any]:
    """Run `python -m module *args` in a fresh interpreter and return the JSON of its last RESULT_MARKER line.

    The figures get `log_lines`: the other stdout lines of the child (nautilus's log).
    """
    pythonpath = os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True, text=True, timeout=timeout_s, check=False,
    )  # fmt: skip
    lines = done.stdout.splitlines()
    found = [line for line in lines if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not found:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(f"child {module} {' '.join(args)} failed with exit code {done.returncode}")
    figures = json.loads(found[-1].removeprefix(RESULT_MARKER))
    figures["log_lines"] = len(lines) - len(found)
    return figures


# -- report --------------------------------------------------------------------------------


def print_table(rows: list[tuple[str, ...]], header: tuple[str, ...] = ("figure", "value", "reference", "target")) -> None:
    """Print rows as an aligned text table."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    rule = "  ".join("-" * width for width in widths)
    print(rule)
    print("  ".join(cell.ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip())
    print(rule)
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(rule)


def finish(rows: list[tuple[str, ...]], figures: dict[str, Any], json_path: Path | None) -> None:
    """Print the figures table and the total time; write the figures as JSON when asked."""
    print()
    print_table(rows)
    print(f"total benchmark time: {figures['total_s']:.0f} s")
    if json_path:
        json_path.write_text(json.dumps(figures, indent=2, default=str))
        print(f"figures written to {json_path}")
