"""`ravebear --help` start-up time: wall time of fresh subprocesses, Python start-up included.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.cli_help [--runs 7]

It runs the venv's `ravebear` console script (or `python -m ravebear.platform.cli` when there is none)
`--runs` times and prints the median and the slowest run beside the target. The environment is passed on,
so `PYTHONPATH=$PWD` times a worktree's code. Target: median under 0.5 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HELP_RUNS = 7
HELP_TARGET_S = 0.5


def help_command() -> list[str]:
    """Return the command that runs `ravebear --help` in this interpreter's environment."""
    script = Path(sys.executable).parent / "ravebear"
    return [str(script), "--help"] if script.exists() else [sys.executable, "-m", "ravebear.platform.cli", "--help"]


def measure_help(runs: int = HELP_RUNS) -> dict[str, Any]:
    """Time `ravebear --help` in fresh subprocesses; print and return median and max seconds."""
    command = help_command()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - started)
    figures = {"command": " ".join(command), "runs": runs, "seconds": times, "median_s": statistics.median(times), "max_s": max(times)}
    print(f"help: {figures['median_s']:.3f} s median, {figures['max_s']:.3f} s max over {runs} runs ({figures['command']})")
    return figures


def main(argv: list[str] | None = None) -> None:
    """Measure and print the figure beside its target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=HELP_RUNS, help=f"subprocess runs (default {HELP_RUNS})")
    figures = measure_help(parser.parse_args(argv).runs)
    ok = figures["median_s"] < HELP_TARGET_S
    print(f"ravebear --help   {figures['median_s']:.3f} s median, {figures['max_s']:.3f} s max   "
          f"{figures['runs']} subprocess runs   < {HELP_TARGET_S} s  {'ok' if ok else 'MISSED'}")  # fmt: skip


if __name__ == "__main__":
    main()
