"""What a user sees from the CLI: help, a bad config key, import reports, the catalog listing."""

import subprocess
import sys
import time

from tests.conftest import OKX_BTC
from tests.platform.test_backtest import REPO, ravebear


def test_help_lists_the_commands_quickly():
    started = time.perf_counter()
    done = ravebear("--help")
    assert done.returncode == 0
    assert "backtest" in done.stdout and "catalog" in done.stdout
    sub = ravebear("catalog", "--help")
    for command in ("download", "import", "import-sample", "list"):
        assert command in sub.stdout
    assert time.perf_counter() - started < 10  # generous: the benchmark measures the real figure


HEAVY = ("pandas", "numpy", "nautilus_trader", "pyarrow", "ccxt", "aiohttp", "plotly", "asyncio")


def test_cli_start_up_and_every_help_page_import_no_heavy_library():
    """Build the help of the group and of every command in a fresh interpreter, then list what got imported."""
    script = (
        "import sys, click\n"
        "from click.testing import CliRunner\n"
        "from ravebear.platform.cli import main\n"
        "def walk(group, path):\n"
        "    yield path\n"
        "    for name, sub in getattr(group, 'commands', {}).items():\n"
        "        yield from walk(sub, [*path, name])\n"
        "pages = list(walk(main, []))\n"
        "for path in pages:\n"
        "    done = CliRunner().invoke(main, [*path, '--help'])\n"
        "    assert done.exit_code == 0, (path, done.output)\n"
        f"print(len(pages), [m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    pages, loaded = done.stdout.split(" ", 1)
    assert int(pages) >= 15  # the group, its commands and the catalog/venue sub-commands
    assert loaded.strip() == "[]"


def test_bad_config_key_fails_with_exit_code_2_and_names_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((REPO / "config" / "backtest.yaml").read_text().replace("taker_fee_bps:", "takr_fee_bps:"))
    done = ravebear("backtest", str(bad))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad}: unknown key 'venue.takr_fee_bps' (did you mean 'taker_fee_bps'?)"
    assert "Traceback" not in done.stderr


def test_backtest_on_an_empty_catalog_says_how_to_fill_it(tmp_path):
    done = ravebear("backtest", env={"RAVEBEAR_CATALOG": str(tmp_path / "empty")})
    assert done.returncode == 2
    assert "no bars for BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL" in done.stderr
    assert "ravebear catalog import" in done.stderr


def test_import_reports_rejected_rows_then_list_shows_the_series(tmp_path):
    import pandas as pd

    frame = pd.read_parquet(OKX_BTC).iloc[:1_000]
    frame.loc[41, "high"] = 1.0  # row 42: high below low
    path = tmp_path / "btc.csv"
    frame.to_csv(path, index=False)
    env = {"RAVEBEAR_CATALOG": str(tmp_path / "cat")}
    done = ravebear("catalog", "import", str(path), "--instrument", "BTC-USDT-SWAP", env=env)
    assert done.returncode == 0, done.stderr
    assert "1000 rows, 999 valid, 1 rejected; 999 bars written" in done.stdout
    assert "rejected row 42 (2026-07-27T12:01:00+00:00): high < low; open outside [low, high]; close outside [low, high]" in done.stdout
    listing = ravebear("catalog", "list", env=env)
    assert "instruments (1): BTC-USDT-SWAP.OKX" in listing.stdout
    assert "BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL" in listing.stdout and "999" in listing.stdout


def test_import_of_a_missing_file_is_a_clear_error(tmp_path):
    done = ravebear("catalog", "import", str(tmp_path / "nope.csv"), "-i", "BTC-USDT-SWAP", env={"RAVEBEAR_CATALOG": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_catalog_download_routes_sources_and_names_a_missing_key(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "COINALYZE_API_KEY"}
    listing = ravebear("catalog", "download", "--help")
    for source in ("candles", "coinalyze", "whale-alert", "stablecoins"):
        assert source in listing.stdout
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "catalog", "download", "coinalyze", "--catalog", str(tmp_path), "--no-progress"],
        capture_output=True, text=True, cwd=REPO, env={**env, "COINALYZE_API_KEY": ""}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1
    assert "COINALYZE_API_KEY" in done.stderr and "Traceback" not in done.stderr
