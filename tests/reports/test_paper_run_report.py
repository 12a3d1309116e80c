"""A real paper replay whose kill switch trips, the risk report of its run folder, and folders that are damaged.

The replay is the issue's command: the default run file on the bundled OKX sample (2026-07-27 .. 08-22), as fast
as it goes. The daily loss limit refuses hundreds of entries, and on 2026-08-22 the drawdown reaches 10 % while
copies hold positions: the kill switch halts and flattens. The damaged folders are copies of that real run with
one file broken the way a user met it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.reports.run_folder import summarize

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-07-27", "2026-08-23"  # the bundled sample


def ravebear(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", *args], check=False,
        capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})}, timeout=timeout,
    )  # fmt: skip


@pytest.fixture(scope="module")
def paper(tmp_path_factory) -> dict:
    """`ravebear paper config/backtest.yaml --speed 0` on a catalog replay of the sample: its output and run folder."""
    root = tmp_path_factory.mktemp("paper")
    env = {"RAVEBEAR_CATALOG": str(root / "catalog")}
    seeded = ravebear("catalog", "import-sample", "--if-empty", env=env)
    assert seeded.returncode == 0, seeded.stderr
    config = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    config["run"]["log_level"] = "INFO"  # refused entries are logged at INFO
    (root / "paper.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = ravebear("paper", str(root / "paper.yaml"), "--speed", "0", "--timeout", "120", "--no-dashboard", "--output", str(root / "runs"), env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    return {"done": done, "folder": folder, "env": env, "config": config}


def copy_run(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / folder.name  # the name keeps the session's wall-clock stamp
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("risk_report.*"))
    return copy


def test_paper_replay_kill_switch_events_carry_data_time_and_the_report_builds(paper):
    folder = paper["folder"]
    events = pd.read_csv(folder / "guard_events.csv")
    halted = events[(events["guard"] == "kill_switch") & (events["action"] == "halted")]
    flattened = events[(events["guard"] == "kill_switch") & (events["action"] == "flattened")]
    assert len(flattened) >= 1 and len(halted) == 3  # every copy halts; those holding a position flatten it
    times = pd.to_datetime(events["ts"], utc=True, format="ISO8601")
    assert times.between(pd.Timestamp(START, tz="UTC"), pd.Timestamp(END, tz="UTC")).all()
    for row in flattened.itertuples():
        own_halt = halted[halted["strategy_id"] == row.strategy_id]
        assert list(own_halt["ts"]) == [row.ts]  # the flatten is stamped with its copy's halt, in data time
    report = json.loads((folder / "risk_report.json").read_text())
    assert report["warnings"] == []
    assert report["summary"]["start"] >= START and report["summary"]["end"] < END


def test_report_on_a_folder_written_before_the_fix_names_the_wall_clock_events(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    events = pd.read_csv(folder / "guard_events.csv")
    flattened = (events["guard"] == "kill_switch") & (events["action"] == "flattened")
    written = pd.Timestamp(folder.name.split("-")[0])  # the folder's name: its UTC time, taken as the session ended
    events.loc[flattened, "ts"] = (written - pd.Timedelta(seconds=1)).isoformat()  # what the kill switch wrote before: wall-clock time
    events.to_csv(folder / "guard_events.csv", index=False)
    done = ravebear("report", str(folder))
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 1
    assert warnings[0].startswith(
        f"warning: guard_events.csv: {int(flattened.sum())} event(s) (kill_switch flattened) carry the session's wall-clock time "
        f"({(written - pd.Timedelta(seconds=1)).strftime('%Y-%m-%d %H:%M UTC')}) instead of the replay's data time",
    )
    report = json.loads((folder / "risk_report.json").read_text())
    assert report["summary"]["end"] < END  # the odd times do not stretch the period
    assert report["summary"]["guard_events"] == len(events)


def test_truncated_summary_is_rebuilt_from_the_tables(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    original = json.loads((folder / "summary.json").read_text())
    text = (folder / "summary.json").read_text()
    (folder / "summary.json").write_text(text[: len(text) // 2])
    done = ravebear("report", str(folder))
    assert done.returncode == 0, done.stderr
    warnings = done.stderr.strip().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("warning: summary.json is damaged (not valid JSON: ")
    assert "rebuilt from the tables and config.yaml" in warnings[0]
    assert (folder / "summary.json").read_text() == text[: len(text) // 2]  # left as it is
    summary = json.loads((folder / "risk_report.json").read_text())["summary"]
    assert original["trades"] > 0
    assert (summary["trades"], summary["starting_balance"]) == (original["trades"], original["starting_balance"])
    assert summary["pnl"] == pytest.approx(original["pnl"]) and summary["sharpe"] == pytest.approx(original["sharpe"])


def test_truncated_summary_without_config_copy_is_one_line_naming_the_file(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    (folder / "summary.json").write_text('{"trades": 4, "pnl": ')
    (folder / "config.yaml").unlink()
    done = ravebear("report", str(folder))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder / 'summary.json'}: not valid JSON: ")
    assert lines[0].endswith("cannot rebuild it without the starting balance (venue.starting_balance in config.yaml)")


def test_garbage_row_in_positions_is_named_with_its_line(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    lines = (folder / "positions.csv").read_text().splitlines()
    columns = lines[0].split(",")
    garbage = ["x"] * len(columns)
    garbage[columns.index("entry")] = "BUY"
    lines.insert(3, ",".join(garbage))  # line 4 of the file
    (folder / "positions.csv").write_text("\n".join(lines) + "\n")
    done = ravebear("report", str(folder))
    assert done.returncode == 1
    # peak_qty is the first checked column whose 'x' is wrong (ids may be any text)
    assert done.stderr.strip().splitlines() == [f"error: {folder / 'positions.csv'} line 4: peak_qty 'x' is not a number"]
    assert not (folder / "risk_report.json").exists()


def test_positions_file_of_garbage_is_not_read_as_no_trades(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    (folder / "positions.csv").write_text("garbage\n\x00\x01 more garbage\n")
    done = ravebear("report", str(folder))
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {folder / 'positions.csv'}: not a positions table: line 1 ('garbage') lacks the column(s) position_id,")
    assert "trades 0" not in done.stdout


def test_guard_events_are_grouped_in_the_report(paper):
    folder = paper["folder"]
    events = pd.read_csv(folder / "guard_events.csv").fillna("")
    report = json.loads((folder / "risk_report.json").read_text())
    groups = report["guard_events"]["groups"]
    assert sum(g["events"] for g in groups) == len(events) == len(report["guard_events"]["events"])
    assert len(groups) < len(events)
    for group in groups:  # each group: one guard, action, strategy and instrument, its first and last time
        own = events[(events["guard"] == group["guard"]) & (events["action"] == group["action"]) & (events["strategy_id"] == (group["strategy_id"] or ""))
                     & (events["instrument_id"] == (group["instrument_id"] or ""))]  # fmt: skip
        times = pd.to_datetime(own["ts"], utc=True, format="ISO8601")
        assert pd.Timestamp(group["first"]) >= times.min() and pd.Timestamp(group["last"]) <= times.max()
    page = (folder / "risk_report.html").read_text()
    section = page.split("id='guard-events'")[1].split("</section>")[0]
    assert section.count("<tr>") - 1 == len(groups)  # minus the header row
    assert f"Guard events ({len(events)} in {len(groups)} groups)" in section


def test_guard_log_lines_one_per_event_naming_copy_and_instrument(paper):
    log = paper["done"].stdout + paper["done"].stderr
    events = pd.read_csv(paper["folder"] / "guard_events.csv").fillna("")
    guard_lines = [line for line in log.splitlines() if ": guard " in line]
    halts = [line for line in guard_lines if "guard kill_switch halted" in line]
    assert len(halts) == 1 and "[WARN]" in halts[0]  # three copies halted on the account's drawdown: one line
    assert re.search(r"account \(first seen by UntouchedWick-00[123] (BTC|ETH|SOL)-USDT-SWAP\.OKX\)", halts[0])
    for row in events[events["action"] == "flattened"].itertuples():
        assert sum(f"{row.strategy_id} {row.instrument_id}: guard kill_switch flattened" in line and "[WARN]" in line for line in guard_lines) == 1
    for row in events[(events["action"] == "blocked") & (events["instrument_id"] != "")].itertuples():
        assert f"{row.strategy_id} {row.instrument_id}: entry skipped, guard {row.guard} blocked: " in log
    levels = {line.split("] ")[0].split("[")[-1] for line in guard_lines if "entry skipped" not in line}
    assert levels == {"WARN"}  # a block's start, its end, a halt and a flatten: one level
    days = [line for line in guard_lines if "guard daily_loss resumed" in line]
    assert len(days) == len({re.search(r"new UTC day (\S+):", line).group(1) for line in days})


def test_paper_run_stopped_before_any_trade(paper, tmp_path):
    config = tmp_path / "paper.yaml"
    config.write_text(yaml.safe_dump(paper["config"], sort_keys=False))
    done = ravebear("paper", str(config), "--speed", "1", "--timeout", "3", "--no-dashboard", "--output", str(tmp_path / "runs"), env=paper["env"])
    assert done.returncode == 0, done.stderr[-2000:]
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    report = json.loads((folder / "risk_report.json").read_text())
    summary = report["summary"]
    assert summary["trades"] == 0 and summary["currency"] == "USDT"
    assert summary["strategies"] == ["UntouchedWick-001", "UntouchedWick-002", "UntouchedWick-003"]
    written = json.loads((folder / "summary.json").read_text())
    if written["items"]:  # the replay handed bars: its period is their data time, never the wall clock
        assert START <= summary["start"] <= summary["end"] < "2026-08-23"
        assert (summary["start"], summary["end"]) == (written["start"], written["end"])
    else:
        assert summary["start"] is None
    assert not any("account.csv missing" in note for note in report["notes"])
    page = (folder / "risk_report.html").read_text()
    assert "strategies: UntouchedWick-001, UntouchedWick-002, UntouchedWick-003" in page and "USDT" in page
    if summary["start"] is None:
        assert "period unknown (no account, fill or funding event)" in page
        assert "nothing to plot: the run recorded no balance change and no trade" in page


def test_summarize_of_the_tables_matches_the_written_summary(paper):
    folder = paper["folder"]
    written = json.loads((folder / "summary.json").read_text())
    from decimal import Decimal

    rebuilt = summarize(pd.read_csv(folder / "positions.csv"), pd.read_csv(folder / "fills.csv"), pd.read_csv(folder / "account.csv"), Decimal(10000))
    for key in ("trades", "pnl", "fees", "return_pct", "max_drawdown_pct", "sharpe", "sortino", "profit_factor"):
        assert rebuilt[key] == pytest.approx(written[key]), key


def test_guard_event_with_an_unreadable_time_is_named_not_fatal(paper, tmp_path):
    folder = copy_run(paper["folder"], tmp_path)
    events = pd.read_csv(folder / "guard_events.csv")
    events.loc[5, "ts"] = "yesterday"
    events.loc[6, "ts"] = None
    events.to_csv(folder / "guard_events.csv", index=False)
    done = ravebear("report", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines() == ["warning: guard_events.csv: 2 event(s) with an unreadable time (first 'yesterday'): listed without a time"]
    report = json.loads((folder / "risk_report.json").read_text())
    assert [report["guard_events"]["events"][i]["ts"] for i in (5, 6)] == [None, None]
    assert report["summary"]["guard_events"] == len(events)
