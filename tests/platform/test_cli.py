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


# -- help and output (issue 13, item 17) ------------------------------------------------------


def test_ravebear_or_a_group_alone_prints_the_help_and_succeeds():
    for group in ([], ["catalog"], ["catalog", "download"], ["venue"]):
        done = ravebear(*group)
        assert done.returncode == 0, (group, done.stderr)
        assert done.stdout.startswith("Usage:") and "Commands:" in done.stdout and done.stderr == ""
        assert done.stdout == ravebear(*group, "--help").stdout


def test_the_command_lists_show_each_whole_first_sentence_at_80_columns():
    from ravebear.platform.cli import main

    def squashed(text: str) -> str:
        return " ".join(text.split())

    for path in ([], ["catalog"], ["catalog", "download"], ["venue"]):
        done = ravebear(*path, "--help", env={"COLUMNS": "80"})
        assert done.returncode == 0, done.stderr
        assert "..." not in done.stdout.split("Commands:")[1]  # click's cut
        group = main
        for name in path:
            group = group.commands[name]
        listed = squashed(done.stdout.split("Commands:")[1])
        for name, command in group.commands.items():
            first = command.help.split(".")[0].strip() if not command.short_help else command.short_help.rstrip(".")
            assert squashed(first) in listed, (path, name)


def test_paper_options_show_their_defaults_and_venue_balance_is_usdt():
    paper = " ".join(ravebear("paper", "--help", env={"COLUMNS": "200"}).stdout.split())
    for option, default in (("--speed", "node.speed in the config"), ("--trader-id", "node.trader_id in the config"),
                            ("--redis-port", "node.redis in the config, else in memory"), ("--output", "run.output_dir in the config"),
                            ("--timeout SECONDS", "run until the replay ends or Ctrl-C")):  # fmt: skip
        assert f"{option}" in paper and f"[default: ({default})" in paper, option
    venue = " ".join(ravebear("venue", "okx-sim", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "--balance USDT USDT in the account at start. [default: 10000]" in venue
    bad = ravebear("venue", "okx-sim", "--balance", "lots", env={"OKX_API_KEY": "k", "OKX_API_SECRET": "s", "OKX_API_PASSPHRASE": "p"})
    assert bad.returncode == 2
    assert "Invalid value for '--balance': not a number of USDT: 'lots'" in bad.stderr
    negative = ravebear("venue", "okx-sim", "--balance", "-5", env={"OKX_API_KEY": "k", "OKX_API_SECRET": "s", "OKX_API_PASSPHRASE": "p"})
    assert negative.returncode == 2 and "must be more than 0 USDT, got -5" in negative.stderr


def test_catalog_list_puts_each_header_over_its_column_and_counts_one_gap_as_one(tmp_path):
    import pandas as pd

    frame = pd.read_parquet(OKX_BTC).iloc[:300]
    frame = frame[~frame["ts"].between(frame["ts"].iloc[100], frame["ts"].iloc[102])]  # one gap: rows 100..102 (3 candles)
    assert len(frame) == 297
    path = tmp_path / "btc.csv"
    frame.to_csv(path, index=False)
    env = {"RAVEBEAR_CATALOG": str(tmp_path / "cat")}
    done = ravebear("catalog", "import", str(path), "--instrument", "BTC-USDT-SWAP", env=env)
    assert done.returncode == 0, done.stderr
    assert "  1 gap, 3 candles missing:" in done.stdout
    assert "(3 candles missing)" in done.stdout
    lines = ravebear("catalog", "list", env=env).stdout.splitlines()
    header, row = lines[2], lines[3]
    assert header.split() == ["bar", "type", "first", "open", "(UTC)", "last", "open", "(UTC)", "bars", "gaps", "missing"]
    first, last = pd.Timestamp(frame["ts"].iloc[0], unit="ms"), pd.Timestamp(frame["ts"].iloc[-1], unit="ms")
    cells = {"BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL": "bar type", f"{first:%Y-%m-%d %H:%M}": "first open (UTC)",
             f"{last:%Y-%m-%d %H:%M}": "last open (UTC)"}  # fmt: skip
    for cell, title in cells.items():  # text columns: left-aligned under their header
        assert row.index(cell) == header.index(title), title
    for cell, title in (("297", "bars"), ("1", "gaps"), ("3", "missing")):  # counts: right-aligned under theirs
        end = header.index(title) + len(title)
        assert row[:end].endswith(cell) and row[end - len(cell) - 1] == " ", title
