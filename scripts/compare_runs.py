"""Keep the comparable part of a run folder, or compare two snapshots made by scripts/snapshot_runs.sh.

    compare_runs.py --keep RUN_FOLDER DEST     copy the CSVs and summary.json (minus timings) to DEST
    compare_runs.py BEFORE AFTER               name every file and column that differs; exit 1 if any

Columns that hold wall-clock time or random ids in a paper node (the sandbox's venue order ids,
`ts_init` of live-clock events) are listed as such, not as differences.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

TIMINGS = ("elapsed_s", "bars_per_s", "run_dir", "created")
WALL_CLOCK_OR_RANDOM = {"venue_order_id", "trade_id", "ts_init", "ts_last", "ts_accepted", "ts_submitted", "duration_ns"}
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # event ids, init ids, snapshot position ids


def keep(run: Path, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(run.glob("*.csv")):
        shutil.copy(path, dest / path.name)
    summary = json.loads((run / "summary.json").read_text())
    for key in list(summary):
        if any(part in key for part in TIMINGS):
            summary.pop(key)
    (dest / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True, default=str))
    report = run / "risk_report.json"
    if report.is_file():  # every figure of the risk report, minus when and where it was written
        figures = json.loads(report.read_text())
        for key in ("generated_utc", "run_dir", "name"):
            figures.get("run", {}).pop(key, None)
        (dest / "risk_report.json").write_text(json.dumps(figures, indent=1, sort_keys=True, default=str))


def compare(before: Path, after: Path) -> int:
    problems = 0
    for run in sorted(p for p in before.iterdir() if p.is_dir()):
        other = after / run.name
        if not other.is_dir():
            print(f"{run.name}: missing after")
            problems += 1
            continue
        names = sorted({p.name for p in run.iterdir()} | {p.name for p in other.iterdir()})
        for name in names:
            a, b = run / name, other / name
            if not (a.exists() and b.exists()):
                print(f"{run.name}/{name}: only {'before' if a.exists() else 'after'}")
                problems += 1
            elif name.endswith(".json"):
                if _json(a) != _json(b):
                    print(f"{run.name}/{name}: differs\n  before {a.read_text()}\n  after  {b.read_text()}")
                    problems += 1
            else:
                problems += _compare_csv(f"{run.name}/{name}", a, b, paper="paper" in run.name)
    print("identical" if problems == 0 else f"{problems} differences")
    return 1 if problems else 0


def _json(path: Path) -> object:
    return json.loads(re.sub(UUID, "<uuid>", path.read_text()))


def _normalised(path: Path, paper: bool) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str).fillna("").replace(UUID, "<uuid>", regex=True)
    if not paper:
        return frame
    # a live clock stamps order ids with the wall time (O-YYYYMMDD-HHMMSS-...) and orders rows by it
    frame = frame.replace(r"(O|OL)-\d{8}-\d{6}-", r"\1-<time>-", regex=True)
    key = [c for c in frame.columns if c not in WALL_CLOCK_OR_RANDOM and not c.startswith("ts")]
    return frame.sort_values(key, ignore_index=True)


def _compare_csv(label: str, a: Path, b: Path, paper: bool) -> int:
    left, right = (_normalised(path, paper) for path in (a, b))
    if list(left.columns) != list(right.columns) or len(left) != len(right):
        print(f"{label}: shape {left.shape} {list(left.columns)} -> {right.shape} {list(right.columns)}")
        return 1
    differing = [c for c in left.columns if not left[c].equals(right[c])]
    ignored = [c for c in differing if paper and (c in WALL_CLOCK_OR_RANDOM or c.startswith("ts_"))]
    real = [c for c in differing if c not in ignored]
    if ignored:
        print(f"{label}: {len(left)} rows; wall-clock/random columns differ as expected: {ignored}")
    if real:
        print(f"{label}: columns differ: {real}")
    return 1 if real else 0


if __name__ == "__main__":
    if sys.argv[1] == "--keep":
        keep(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(compare(Path(sys.argv[1]), Path(sys.argv[2])))
