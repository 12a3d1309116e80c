"""Shared pieces of the optimiser tests: the bundled sample in a catalog, short run files, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def ravebear(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", *args], capture_output=True, text=True, cwd=REPO, check=False,
        env={**os.environ, **(env or {})}, timeout=timeout,
    )  # fmt: skip


def write_run_file(folder: Path, start: str, end: str, instruments: tuple[str, ...] = ("BTC-USDT-SWAP.OKX",)) -> Path:
    """config/backtest.yaml cut to `instruments` and start..end, no tearsheet or risk report."""
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update({"tearsheet": False, "risk_report": False, "output_dir": str(folder / "runs")})
    raw["data"] = [{"instrument_id": name, "start": start, "end": end} for name in instruments]
    raw["strategies"][0]["instruments"] = {name: raw["strategies"][0]["instruments"].get(name, {}) for name in instruments}
    path = folder / "run.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def opt_catalog(tmp_path_factory) -> Path:
    """The bundled OKX sample (BTC, ETH, SOL 1-minute swaps) in a catalog of this session."""
    from tests.conftest import sample_catalog

    return sample_catalog(tmp_path_factory.mktemp("opt") / "catalog").path

