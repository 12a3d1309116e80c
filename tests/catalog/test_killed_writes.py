"""A killed write never breaks the catalog: `kill -9` at many points of a real import and of the LevelActor's
batch writes, a hand-truncated file, and a write killed after its commit point."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from ravebear.catalog.candles import read_ohlcv_file
from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from tests.conftest import OKX_BTC
from tests.platform.test_backtest import REPO, ravebear
from tests.shared_data import SHARED as SHARED_DATA

SHARED = SHARED_DATA / "ohlcv_1m"
# real Binance BTCUSDT spot candles, a month of 2024 and three of 2025: 173,908 rows, ~3 s of import
BINANCE_BTC = [SHARED / "binance_spot_BTCUSDT_1m_20240726_20240825.parquet", SHARED / "binance_spot_BTCUSDT_1m_20250520_20250818.parquet"]
INSTRUMENT = "BTCUSDT.BINANCE"
BAR_TYPE = f"{INSTRUMENT}-1-MINUTE-LAST-EXTERNAL"


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """A large real-data candle file and its open times (ms)."""
    assert all(path.exists() for path in BINANCE_BTC), f"{SHARED} does not hold the Binance BTCUSDT files"
    big = pd.concat([pd.read_parquet(path) for path in BINANCE_BTC], ignore_index=True)
    path = tmp_path_factory.mktemp("big") / "btc_big.parquet"
    big.to_parquet(path)
    return path, big["ts"].to_numpy()


def start(*args: str, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", *args], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def kill(process: subprocess.Popen) -> bool:
    """SIGKILL the process; False when it had already finished."""
    finished = process.poll() is not None
    if not finished:
        process.send_signal(signal.SIGKILL)
    process.wait()
    return not finished


def kill_after(process: subprocess.Popen, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    return kill(process)


def kill_while_writing(process: subprocess.Popen, catalog: Path, kind: str) -> bool:
    """Kill the process as soon as a new parquet file of `kind` (e.g. 'bar') has bytes on disk, wherever it is written."""
    before = set(catalog.rglob("*.parquet"))
    while process.poll() is None:
        for path in catalog.rglob("*.parquet"):
            if kind in path.parts and path not in before and path.exists() and path.stat().st_size > 0:
                return kill(process)
        time.sleep(0.005)
    return False


def assert_catalog_reads(catalog: Path) -> None:
    """`catalog list` works, and every file a reader sees is a whole Parquet file (nothing set aside)."""
    done = ravebear("catalog", "list", "--catalog", str(catalog))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "damaged" not in done.stderr
    for path in (catalog / "data").rglob("*.parquet"):
        pq.read_metadata(path)
    assert not (catalog / ".damaged").exists()


def stored(catalog: Path) -> np.ndarray:
    return RaveCatalog(catalog).stored_open_times(BAR_TYPE)


@pytest.mark.slow
def test_an_import_killed_at_any_point_leaves_a_readable_catalog_and_a_rerun_completes_it(tmp_path, big_file):
    source, times = big_file
    imported = ["catalog", "import", str(source), "-i", INSTRUMENT]

    reference = tmp_path / "reference"
    started = time.monotonic()
    done = ravebear(*imported, "--catalog", str(reference))
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    assert np.array_equal(stored(reference), times)

    # a catalog that already holds a slice in the middle: the import becomes a merge replacing that file
    seeded = tmp_path / "seeded"
    RaveCatalog(seeded).import_candles(read_ohlcv_file(source).iloc[100_000:110_000], instrument_for(INSTRUMENT))
    seed_times = stored(seeded)

    points = [("fresh", fraction) for fraction in (0.2, 0.45, 0.7, 0.9)] + [("fresh", "writing"), ("seeded", "writing"), ("seeded", 0.6)]
    interrupted_writes = 0
    for index, (start_from, when) in enumerate(points):
        catalog = tmp_path / f"killed-{index}"
        if start_from == "seeded":
            shutil.copytree(seeded, catalog)
        process = start(*imported, "--catalog", str(catalog), log=tmp_path / f"import-{index}.log")
        if when == "writing":
            assert kill_while_writing(process, catalog, "bar"), f"kill {index}: the import ended before its bar file was written"
            interrupted_writes += 1
        else:
            kill_after(process, duration * when)

        assert_catalog_reads(catalog)
        after_kill = stored(catalog)
        # all or nothing: no partial series is visible, and a seeded slice is never lost
        assert len(after_kill) in ({0, len(times)} if start_from == "fresh" else {len(seed_times), len(times)}), (index, when, len(after_kill))
        if start_from == "seeded":
            assert np.isin(seed_times, after_kill).all()

        rerun = ravebear(*imported, "--catalog", str(catalog))
        assert rerun.returncode == 0, rerun.stderr
        assert np.array_equal(stored(catalog), times), f"kill {index} ({start_from}, {when}): the rerun did not complete the import"
        assert not [p for p in (catalog / ".staging").rglob("*") if p.is_file()], "the killed write's staging files were not cleaned up"
    assert interrupted_writes == 2


def test_a_truncated_file_is_named_set_aside_and_the_commands_keep_working(tmp_path):
    catalog = tmp_path / "catalog"
    assert ravebear("catalog", "import-sample", "--catalog", str(catalog)).returncode == 0
    bar_files = sorted((catalog / "data" / "bar").rglob("*.parquet"))
    assert len(bar_files) == 3
    victim = next(path for path in bar_files if "BTC-USDT-SWAP" in str(path))
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])  # what a writer killed mid-file left before
    relative = victim.relative_to(catalog)

    listing = ravebear("catalog", "list", "--catalog", str(catalog))
    assert listing.returncode == 0, listing.stderr
    warning = listing.stderr.strip().splitlines()
    assert len(warning) == 1 and "WARNING" in warning[0]
    assert (
        f"damaged catalog file {relative} (Parquet magic bytes not found in footer: the file was cut short) moved to "
        f"{catalog / '.damaged' / relative}; its data is no longer in the catalog: import or download that range again"
    ) in warning[0]
    assert (catalog / ".damaged" / relative).exists() and not victim.exists()
    assert "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL" not in listing.stdout
    assert "ETH-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL" in listing.stdout

    again = ravebear("catalog", "import", str(OKX_BTC), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog))
    assert again.returncode == 0, again.stderr
    assert "damaged" not in again.stderr  # named once, when it was set aside
    source = pd.read_parquet(OKX_BTC)
    assert np.array_equal(RaveCatalog(catalog).stored_open_times("BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"), source["ts"].to_numpy())


def test_a_truncated_instrument_file_is_set_aside_and_the_import_writes_it_again(tmp_path):
    catalog = tmp_path / "catalog"
    assert ravebear("catalog", "import", str(OKX_BTC), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog)).returncode == 0
    (instrument_file,) = (catalog / "data" / "crypto_perpetual").rglob("*.parquet")
    instrument_file.write_bytes(b"")
    again = ravebear("catalog", "import", str(OKX_BTC), "-i", "BTC-USDT-SWAP", "--catalog", str(catalog))
    assert again.returncode == 0, again.stderr
    assert "0 bytes, too short to be a Parquet file" in again.stderr
    assert "26408 already stored" in again.stdout
    assert RaveCatalog(catalog).instrument_ids() == ["BTC-USDT-SWAP.OKX"]


def dead_pid() -> int:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(finished.stdout)


def test_a_merge_killed_after_its_commit_point_is_finished_by_the_next_opener(tmp_path, okx_btc):
    """The state a kill leaves between the journal and the renames: the merged file staged, the old files still in place."""
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    catalog = RaveCatalog(tmp_path / "catalog")
    catalog.import_candles(okx_btc.iloc[:3_000], "BTC-USDT-SWAP")
    catalog.import_candles(okx_btc.iloc[5_000:8_000], "BTC-USDT-SWAP")
    bar_type = "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL"
    old_files = sorted(catalog._bar_dir(bar_type).glob("*.parquet"))
    assert len(old_files) == 2

    # the merged series written by nautilus into a dead process's staging folder, and its journal
    merged = RaveCatalog(tmp_path / "scratch")
    merged.import_candles(okx_btc.iloc[:8_000], "BTC-USDT-SWAP")
    name = f"{dead_pid()}-deadbeef0000"
    staging = catalog.path / ".staging" / name
    ParquetDataCatalog(str(staging)).write_data(merged.bars(bar_type))
    (staged,) = staging.rglob("*.parquet")
    target = catalog.path / staged.relative_to(staging)
    plan = {"moves": [[str(staged.relative_to(catalog.path)), str(target.relative_to(catalog.path))]],
            "removes": [str(path.relative_to(catalog.path)) for path in old_files]}  # fmt: skip
    (catalog.path / ".staging" / f"{name}.commit.json").write_text(json.dumps(plan))

    reopened = RaveCatalog(catalog.path)
    assert sorted(reopened._bar_dir(bar_type).glob("*.parquet")) == [target]
    assert np.array_equal(reopened.stored_open_times(bar_type), okx_btc["ts"].to_numpy()[:8_000])
    assert list((catalog.path / ".staging").iterdir()) == []


def test_an_unfinished_write_of_a_dead_process_is_dropped_and_a_live_ones_kept(tmp_path, okx_btc):
    catalog = RaveCatalog(tmp_path / "catalog")
    catalog.import_candles(okx_btc.iloc[:1_000], "BTC-USDT-SWAP")
    before = sorted(p.relative_to(catalog.path) for p in (catalog.path / "data").rglob("*.parquet"))
    dead = catalog.path / ".staging" / f"{dead_pid()}-0123456789ab" / "data" / "bar" / "x"
    dead.mkdir(parents=True)
    (dead / "2026-01-01T00-00-00-000000000Z_2026-01-02T00-00-00-000000000Z.parquet").write_bytes(b"PAR1 half a file")
    live = catalog.path / ".staging" / f"{os.getpid()}-0123456789ab"
    live.mkdir()
    reopened = RaveCatalog(catalog.path)
    assert sorted(p.name for p in (catalog.path / ".staging").iterdir()) == [live.name]
    assert sorted(p.relative_to(catalog.path) for p in (catalog.path / "data").rglob("*.parquet")) == before
    assert reopened.damaged == []


LEVEL_ROWS = 6_000  # real OKX minutes: ~4,000 level events in ~13 batch files


def level_run_file(path: Path, catalog: Path) -> Path:
    path.write_text(
        "run: {name: levels, log_level: ERROR, tearsheet: false}\n"
        "data: [{instrument_id: BTC-USDT-SWAP.OKX}]\n"
        "actors:\n"
        "  - actor_path: ravebear.strategies.level_actor:LevelActor\n"
        "    config: {instrument_ids: [BTC-USDT-SWAP.OKX], levels: {wicks: {min_wick_bps: 6.0}}, publish: false,\n"
        f"             catalog_path: '{catalog}', flush_every: 300}}\n",
    )
    return path


def level_events(catalog: Path) -> list[tuple]:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from ravebear.catalog.level_data import LevelEventData

    rows = ParquetDataCatalog(str(catalog)).query(LevelEventData)
    return sorted((d.data.ts_event, d.data.event, d.data.kind, d.data.side, d.data.timeframe, d.data.low, d.data.high, d.data.created_ts) for d in rows)


@pytest.mark.slow
def test_a_backtest_killed_while_the_level_actor_writes_leaves_whole_batches(tmp_path, okx_btc):
    bars = tmp_path / "bars"
    RaveCatalog(bars).import_candles(okx_btc.iloc[:LEVEL_ROWS], "BTC-USDT-SWAP")

    reference = tmp_path / "reference"
    shutil.copytree(bars, reference)
    started = time.monotonic()
    done = ravebear("backtest", str(level_run_file(tmp_path / "reference.yaml", reference)), "--catalog", str(reference), "--output", str(tmp_path / "runs"))
    duration = time.monotonic() - started
    assert done.returncode == 0, done.stderr
    full = level_events(reference)
    assert len(full) > 1_000

    level_dir = Path("data") / "custom_level_event_data" / "BTC-USDT-SWAP.OKX"
    for index, (trigger, value) in enumerate((("files", 2), ("time", 0.5), ("files", 6), ("time", 0.8), ("time", 0.95))):
        catalog = tmp_path / f"killed-{index}"
        shutil.copytree(bars, catalog)
        run_file = level_run_file(tmp_path / f"run-{index}.yaml", catalog)
        process = start("backtest", str(run_file), "--catalog", str(catalog), "--output", str(tmp_path / "runs"), log=tmp_path / f"bt-{index}.log")
        if trigger == "files":  # right after the actor's value-th batch landed
            while process.poll() is None and len(list((catalog / level_dir).glob("*.parquet"))) < value:
                time.sleep(0.005)
            assert kill(process), "the backtest ended before the kill"
        else:
            kill_after(process, duration * value)
        assert_catalog_reads(catalog)
        events = level_events(catalog)
        # whole batches, in order: exactly the reference run's events up to the last one stored
        assert events == [event for event in full if events and event[0] <= events[-1][0]]
        if trigger == "files":
            assert 0 < len(events) < len(full)
