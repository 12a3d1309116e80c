"""The risk report of the default backtest on the bundled OKX sample agrees with its run folder.

The "crafted" run is a copy of the real one where these tests replace guard_events.csv, add a
funding.csv (the default run simulates no funding), drop the risk= tags of ETH entries (so R comes
from their stop= tag), drop the exit= tags of SOL exits (so the reason comes from the order type)
and remove instruments.json (so multipliers come from `instrument_for`). Those guard and funding
values are made up; the trades, fills and balances they sit on are real.
"""

import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.catalog.instruments import swap_spec
from ravebear.reports.risk_report import build_risk_report
from ravebear.reports.run_tables import RunFolderError
from ravebear.reports.trades import parse_tags
from ravebear.reports.risk_report_html import write_risk_report

REPO = Path(__file__).resolve().parents[2]
EXIT_TYPES = {"STOP_MARKET": "stop", "MARKET_IF_TOUCHED": "take_profit", "TRAILING_STOP_MARKET": "trailing", "MARKET": "market"}
GUARD_EVENTS = """ts,guard,action,instrument_id,strategy_id,detail
2026-07-29T10:00:00+00:00,daily_loss,block_entries,BTC-USDT-SWAP.OKX,UntouchedWickLong-000,daily loss 2.1% >= 2.0%
2026-08-05T12:30:00+00:00,max_leverage,reduce,ETH-USDT-SWAP.OKX,UntouchedWickLong-ETH,gross 3.2x > 3.0x
2026-08-14T13:32:00+00:00,kill_switch,flatten,,,drawdown <14.8%> of peak
"""
FUNDING = """ts,instrument_id,position_id,position_qty,price,rate,amount,currency
1785225600000000000,BTC-USDT-SWAP.OKX,BTC-USDT-SWAP.OKX-UntouchedWick-001,15.3,64000.0,0.0001,-0.9792,USDT
1785254400000000000,ETH-USDT-SWAP.OKX,ETH-USDT-SWAP.OKX-UntouchedWick-002,50.0,1900.0,-0.0002,1.9,USDT
1785283200000000000,BTC-USDT-SWAP.OKX,BTC-USDT-SWAP.OKX-UntouchedWick-001,15.0,64500.0,0.00005,-0.48375,USDT
"""  # the platform's format: ts in UTC nanoseconds (2026-07-28 08:00, 16:00, 2026-07-29 00:00)


def ravebear(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", *args],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}, timeout=600,
    )  # fmt: skip


def money(text: str) -> Decimal:
    return sum((Decimal(amount) for amount in re.findall(r"(-?[\d.]+) USDT", str(text))), Decimal(0))


def multiplier(instrument_id: str) -> float:
    return float(swap_spec(instrument_id).contract_value)  # OKX ctVal: base units per contract


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """The default backtest (no tearsheet, no automatic risk report), run through the CLI into a temporary folder."""
    root = tmp_path_factory.mktemp("risk")
    env = {"RAVEBEAR_CATALOG": str(root / "catalog")}
    seeded = ravebear("catalog", "import-sample", "--if-empty", env=env)
    assert seeded.returncode == 0, seeded.stderr
    config = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    config["run"]["tearsheet"] = False
    if "risk_report" in config["run"]:
        config["run"]["risk_report"] = False  # `ravebear report` below writes it
    (root / "backtest.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = ravebear("backtest", str(root / "backtest.yaml"), "--output", str(root / "runs"), env=env)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    assert not (folder / "risk_report.html").exists()
    return folder


@pytest.fixture(scope="session")
def cli_report(run_dir) -> dict:
    """`ravebear report RUN` on the real run: its output and the JSON it wrote."""
    done = ravebear("report", str(run_dir))
    assert done.returncode == 0, done.stderr
    return {"stdout": done.stdout, "report": json.loads((run_dir / "risk_report.json").read_text())}


@pytest.fixture(scope="session")
def crafted(run_dir, tmp_path_factory) -> dict:
    """A copy of the real run with made-up guard events and funding, fewer tags and no instruments.json."""
    folder = tmp_path_factory.mktemp("crafted") / "run"
    shutil.copytree(run_dir, folder, ignore=shutil.ignore_patterns("risk_report.*"))
    (folder / "guard_events.csv").write_text(GUARD_EVENTS)
    (folder / "funding.csv").write_text(FUNDING)
    (folder / "instruments.json").unlink(missing_ok=True)
    orders = pd.read_csv(folder / "orders.csv")
    for index in orders.index:
        tags = parse_tags(orders.at[index, "tags"])
        instrument_id = orders.at[index, "instrument_id"]
        if instrument_id.startswith("ETH") and "risk" in tags:
            orders.at[index, "tags"] = str([f"{k}={v}" for k, v in tags.items() if k != "risk"])
        elif instrument_id.startswith("SOL") and "exit" in tags:
            orders.at[index, "tags"] = None
    orders.to_csv(folder / "orders.csv", index=False)
    html_path, json_path = write_risk_report(folder)
    return {"folder": folder, "orders": orders, "html": html_path.read_text(), "report": json.loads(json_path.read_text())}


def closed_positions(folder: Path) -> pd.DataFrame:
    positions = pd.read_csv(folder / "positions.csv")
    return positions[positions["ts_closed"].notna()]


def test_report_pnl_fees_and_trades_agree_with_the_run_folder(run_dir, cli_report):
    report = cli_report["report"]
    closed = closed_positions(run_dir)
    fills = pd.read_csv(run_dir / "fills.csv")
    assert report["summary"]["trades"] == len(report["trades"]) == len(closed) > 20
    assert report["summary"]["pnl"] == pytest.approx(float(sum(money(v) for v in closed["realized_pnl"])), abs=1e-6)
    assert report["summary"]["fees"] == pytest.approx(float(sum(money(v) for v in fills["commission"])), abs=1e-6)
    assert report["summary"]["wins"] == sum(money(v) > 0 for v in closed["realized_pnl"])
    by_position = closed.set_index("position_id")
    for trade in report["trades"]:
        row = by_position.loc[trade["position_id"]]
        assert trade["pnl"] == pytest.approx(float(money(row["realized_pnl"])), abs=1e-9)
        assert (trade["entry_price"], trade["exit_price"], trade["quantity"]) == (row["avg_px_open"], row["avg_px_close"], row["peak_qty"])
        assert trade["fees"] == pytest.approx(float(money(row["commissions"])), abs=1e-9)
        assert trade["side"] == ("LONG" if row["entry"] == "BUY" else "SHORT")
        # every partial exit is listed: the exits add up to the position's peak size
        assert sum(exit_["qty"] for exit_ in trade["exits"]) == pytest.approx(row["peak_qty"])
        assert trade["exits"][-1]["order_id"] == row["closing_order_id"]


def test_per_instrument_and_per_strategy_statistics_add_up_to_the_totals(run_dir, cli_report):
    report = cli_report["report"]
    summary = report["summary"]
    fills = pd.read_csv(run_dir / "fills.csv")
    assert set(report["by_instrument"]) == set(fills["instrument_id"]) and len(report["by_instrument"]) >= 2
    assert set(report["by_strategy"]) == set(fills["strategy_id"])
    for groups in (report["by_instrument"], report["by_strategy"]):
        assert sum(g["trades"] for g in groups.values()) == summary["trades"]
        assert sum(g["wins"] for g in groups.values()) == summary["wins"]
        assert sum(g["pnl"] for g in groups.values()) == pytest.approx(summary["pnl"], abs=1e-6)
        assert sum(g["fees"] for g in groups.values()) == pytest.approx(summary["fees"], abs=1e-6)
    for instrument_id, stats in report["by_instrument"].items():
        pnls = [t["pnl"] for t in report["trades"] if t["instrument_id"] == instrument_id]
        assert stats["expectancy"] == pytest.approx(sum(pnls) / len(pnls))
        assert stats["win_rate"] == pytest.approx(sum(p > 0 for p in pnls) / len(pnls))
        if any(p <= 0 for p in pnls):
            assert stats["profit_factor"] == pytest.approx(sum(p for p in pnls if p > 0) / -sum(p for p in pnls if p <= 0))
        assert stats["fees"] == pytest.approx(float(sum(money(v) for v in fills.loc[fills["instrument_id"] == instrument_id, "commission"])))


def test_drawdown_and_ratios_are_computed_from_the_account_balance(run_dir, cli_report):
    summary = cli_report["report"]["summary"]
    account = pd.read_csv(run_dir / "account.csv")
    totals = account["total"].astype(float)
    peaks = totals.cummax()
    assert summary["max_drawdown_pct"] == pytest.approx(((totals - peaks) / peaks).min() * 100, abs=1e-9)
    assert summary["max_drawdown_pct"] == pytest.approx(json.loads((run_dir / "summary.json").read_text())["max_drawdown_pct"], abs=1e-3)
    assert summary["final_balance"] == pytest.approx(totals.iloc[-1])
    # Sharpe and Sortino from daily closes (UTC days of the report's span), annualised with 365 days, by hand
    stamps = pd.to_datetime(account["ts"], utc=True)
    start, end = pd.Timestamp(summary["start"]), pd.Timestamp(summary["end"])
    assert start <= stamps.min() and stamps.max() <= end
    returns, previous = [], summary["starting_balance"]
    for day in pd.date_range(start.floor("D"), end.floor("D"), freq="D"):
        same_day = totals[stamps.dt.floor("D") == day]
        close = float(same_day.iloc[-1]) if len(same_day) else previous
        returns.append(close / previous - 1)
        previous = close
    mean = sum(returns) / len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / len(returns))
    assert summary["days"] == len(returns) >= 2
    assert summary["sharpe"] == pytest.approx(mean / std * math.sqrt(365))
    assert summary["sortino"] == pytest.approx(mean / downside * math.sqrt(365))


def test_exposure_is_position_size_times_fill_price_times_multiplier(run_dir, cli_report):
    report = cli_report["report"]
    exposure = report["exposure"]
    fills = pd.read_csv(run_dir / "fills.csv")
    checked = 0
    for instrument_id, points in exposure["by_instrument"].items():
        at = {p["ts"]: p for p in points}
        own = fills[fills["instrument_id"] == instrument_id]
        for trade in (t for t in report["trades"] if t["instrument_id"] == instrument_id):
            if (pd.to_datetime(own["ts_event"], utc=True) == pd.Timestamp(trade["entry_ts"])).sum() != 1:
                continue  # another fill in the entry's minute: the end-of-minute position is not this entry alone
            point = at[trade["entry_ts"]]
            sign = 1 if trade["side"] == "LONG" else -1
            assert point["qty"] == pytest.approx(sign * trade["quantity"])
            assert point["notional"] == pytest.approx(sign * trade["quantity"] * trade["entry_price"] * multiplier(instrument_id))
            checked += 1
        assert points[-1]["qty"] == 0  # flat at the end
    assert checked >= len(report["trades"]) / 2
    assert exposure["gross"][-1]["notional"] == 0
    assert report["summary"]["max_gross_exposure"] == max(p["notional"] for p in exposure["gross"])
    # several instruments were held at once at some point: gross exceeds any single instrument's exposure
    assert report["summary"]["max_gross_exposure"] > max(abs(p["notional"]) for points in exposure["by_instrument"].values() for p in points)


def test_exit_reasons_and_r_multiples_come_from_the_order_tags(run_dir, cli_report):
    orders = pd.read_csv(run_dir / "orders.csv").set_index("client_order_id")
    trades = cli_report["report"]["trades"]
    for trade in trades:
        entry_tags = parse_tags(orders.at[trade["entry_order_id"], "tags"])
        exit_tags = parse_tags(orders.at[trade["exit_order_id"], "tags"])
        expected_reason = exit_tags.get("exit") or EXIT_TYPES[orders.at[trade["exit_order_id"], "type"]]
        assert trade["exit_reason"] == expected_reason
        if "risk" in entry_tags:
            assert trade["r_multiple"] == pytest.approx(trade["pnl"] / float(entry_tags["risk"]))
    with_risk = [t for t in trades if "risk" in parse_tags(orders.at[t["entry_order_id"], "tags"])]
    if not with_risk:
        pytest.skip("the default strategy tags no entry with risk= (the crafted run covers R)")
    assert cli_report["report"]["summary"]["r_trades"] == len(with_risk)
    assert cli_report["report"]["summary"]["avg_r"] == pytest.approx(sum(t["r_multiple"] for t in with_risk) / len(with_risk))


def test_crafted_tags_give_r_from_the_stop_and_exit_reasons_from_the_order_type(crafted, cli_report):
    orders = crafted["orders"].set_index("client_order_id")
    trades = crafted["report"]["trades"]
    assert {t["instrument_id"][:3] for t in trades} >= {"ETH", "SOL"}
    for trade in trades:
        tags = parse_tags(orders.at[trade["entry_order_id"], "tags"])
        if "risk" in tags:
            assert trade["r_multiple"] == pytest.approx(trade["pnl"] / float(tags["risk"]))
        elif "stop" in tags:
            risk = abs(trade["entry_price"] - float(tags["stop"])) * trade["quantity"] * multiplier(trade["instrument_id"])
            assert trade["r_multiple"] == pytest.approx(trade["pnl"] / risk) and trade["risk_source"] == "stop tag"
        if trade["instrument_id"].startswith("SOL"):
            assert trade["exit_reason"] == EXIT_TYPES[orders.at[trade["exit_order_id"], "type"]]
    # without instruments.json the multipliers come from instrument_for: the same exposure
    assert crafted["report"]["exposure"] == cli_report["report"]["exposure"]


def test_guard_events_and_funding_appear_in_json_and_html(crafted):
    report, page = crafted["report"], crafted["html"]
    events = report["guard_events"]["events"]
    assert [(e["guard"], e["action"], e["detail"]) for e in events] == [
        ("daily_loss", "block_entries", "daily loss 2.1% >= 2.0%"),
        ("max_leverage", "reduce", "gross 3.2x > 3.0x"),
        ("kill_switch", "flatten", "drawdown <14.8%> of peak"),
    ]
    assert events[2]["instrument_id"] is None and report["summary"]["guard_events"] == 3
    assert "drawdown &lt;14.8%&gt; of peak" in page and "<14.8%>" not in page
    for guard in ("daily_loss", "max_leverage", "kill_switch"):
        assert f'<td class="">{guard}</td>' in page
    funding = report["funding"]
    assert funding["simulated"] and funding["total"] == pytest.approx(-0.9792 + 1.9 - 0.48375)
    assert funding["by_instrument"]["BTC-USDT-SWAP.OKX"] == {"events": 2, "paid": pytest.approx(-1.46295), "received": 0.0, "net": pytest.approx(-1.46295)}
    assert report["by_instrument"]["ETH-USDT-SWAP.OKX"]["funding"] == pytest.approx(1.9)
    assert report["by_instrument"]["SOL-USDT-SWAP.OKX"]["funding"] == 0
    assert [e["ts"] for e in funding["events"]] == ["2026-07-28T08:00:00+00:00", "2026-07-28T16:00:00+00:00", "2026-07-29T00:00:00+00:00"]
    if "UntouchedWick-001" in report["by_strategy"]:  # the default config's strategy ids
        assert report["by_strategy"]["UntouchedWick-001"]["funding"] == pytest.approx(-1.46295)
    assert "-1.46" in page and "+1.90" in page and "+0.44" in page and "funding: not simulated" not in page


def test_the_runs_own_guard_events_are_all_reported(run_dir, cli_report):
    path = run_dir / "guard_events.csv"
    if not path.exists():
        assert "no guard events recorded (guard_events.csv missing)" in cli_report["report"]["notes"]
        return
    rows = pd.read_csv(path)
    events = cli_report["report"]["guard_events"]["events"]
    assert [(e["ts"], e["guard"], e["action"]) for e in events] == list(zip(rows["ts"], rows["guard"], rows["action"], strict=True))
    assert sum(c["events"] for c in cli_report["report"]["guard_events"]["counts"]) == len(rows)


def test_missing_optional_files_are_named_in_the_report(tmp_path, run_dir):
    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder, ignore=shutil.ignore_patterns("risk_report.*", "guard_events.csv", "funding.csv", "orders.csv"))
    html_path, json_path = write_risk_report(folder)
    notes = json.loads(json_path.read_text())["notes"]
    assert "funding: not simulated for this run" in notes
    assert "no guard events recorded (guard_events.csv missing)" in notes
    assert any(note.startswith("orders.csv missing") for note in notes)
    page = html_path.read_text()
    assert "funding: not simulated for this run" in page and "no guard events recorded" in page


def test_report_of_a_run_without_trades(tmp_path):
    for name in ("positions.csv", "fills.csv", "orders.csv"):
        (tmp_path / name).write_text('""\n')  # what nautilus writes for an empty report
    (tmp_path / "account.csv").write_text("ts,currency,total,locked,free\n2026-07-27 11:21:00+00:00,USDT,10000,0,10000\n")
    (tmp_path / "summary.json").write_text(json.dumps({"starting_balance": 10000.0, "trades": 0}))
    (tmp_path / "guard_events.csv").write_text("ts,guard,action,instrument_id,strategy_id,detail\n")
    (tmp_path / "funding.csv").write_text("ts,instrument_id,position_qty,price,rate,amount\n2026-07-28T08:00:00+00:00,BTC-USDT-SWAP.OKX,0,64000,0.0001,0\n")
    html_path, json_path = write_risk_report(tmp_path)
    report = json.loads(json_path.read_text())
    assert report["summary"]["trades"] == 0 and report["summary"]["pnl"] == 0 and report["summary"]["max_drawdown_pct"] == 0
    assert report["summary"]["end"] == "2026-07-28T08:00:00+00:00"  # the funding event widens the run's span
    assert report["guard_events"] == {"recorded": True, "events": [], "counts": [], "groups": []}
    page = html_path.read_text()
    assert "Trades (0 closed" in page and "the run recorded no guard events" in page


def test_build_risk_report_names_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(RunFolderError, match=re.escape(f"no run folder at {tmp_path} (expected summary.json, positions.csv, fills.csv)")):
        build_risk_report(tmp_path)


def test_cli_report_on_a_missing_folder_fails_with_one_line():
    done = ravebear("report", "/nonexistent")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: no run folder at /nonexistent (expected summary.json, positions.csv, fills.csv)"]


def test_cli_report_writes_both_files_and_prints_the_summary(run_dir, cli_report):
    lines = cli_report["stdout"].strip().splitlines()
    summary = cli_report["report"]["summary"]
    assert lines[-2:] == [f"html: {run_dir.resolve() / 'risk_report.html'}", f"json: {run_dir.resolve() / 'risk_report.json'}"]
    assert len(lines) == 5
    assert lines[0].startswith(f"trades {summary['trades']} ") and f"PnL {summary['pnl']:+,.2f} USDT" in lines[0]
    assert f"max drawdown {summary['max_drawdown_pct']:.2f} %" in lines[1]
    page = (run_dir / "risk_report.html").read_text()
    assert page.count('class="plotly-graph-div"') == 2
    assert page.count("* plotly.js v") == 1 and "<script src=" not in page  # plotly.js inlined once, nothing loaded
    assert page.index("class='cards'") < page.index("plotly-graph-div") < page.index("id='by-strategy'") < page.index("id='trade-list'")


def _chromium() -> str | None:
    return next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)


def _png_is_not_blank(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == (1400, 3000)
    try:
        from PIL import Image
    except ImportError:
        # no PIL: a blank page's decompressed scanlines are nearly one byte value and compress to a few kB
        chunks, offset = [], 8
        while offset < len(data):
            length, kind = struct.unpack(">I4s", data[offset : offset + 8])
            if kind == b"IDAT":
                chunks.append(data[offset + 8 : offset + 8 + length])
            offset += 12 + length
        raw = zlib.decompress(b"".join(chunks))
        assert len(data) > 100_000
        assert len(set(raw)) > 200 and raw.count(raw[0]) / len(raw) < 0.95
        return
    colors = Image.open(path).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colors is None or len(colors) > 200


def test_report_renders_in_a_headless_browser(run_dir, cli_report):
    browser = _chromium()
    if browser is None:
        pytest.skip("no chromium, chromium-browser or google-chrome on PATH (scripts/setup.sh test tries to install it)")
    html_path = run_dir / "risk_report.html"
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--virtual-time-budget=15000", "--window-size=1400,3000"]
    dom = subprocess.run([*flags, "--dump-dom", html_path.resolve().as_uri()], capture_output=True, text=True, timeout=120).stdout
    figures = html_path.read_text().count('class="plotly-graph-div"')
    assert dom.count('class="plot-container plotly"') == figures == 2  # plotly.js drew every figure
    assert dom.count('class="main-svg"') >= 2 * figures
    assert 'class="trace bars"' in dom and dom.count('class="trace scatter') >= 4
    sections = {name: dom.split(f'id="{name}"')[1].split("</section>")[0] for name in ("trade-list", "guard-events")}
    assert sections["trade-list"].count("<tr>") - 1 == cli_report["report"]["summary"]["trades"]  # minus the header row
    guard_rows = len(cli_report["report"]["guard_events"]["groups"])  # near-identical events are one row
    assert sections["guard-events"].count("<tr>") - (1 if guard_rows else 0) == guard_rows
    screenshot = run_dir / "risk_report.png"
    subprocess.run([*flags, f"--screenshot={screenshot}", html_path.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    _png_is_not_blank(screenshot)
