"""Read a run folder's tables (the files `ravebear.reports.run_folder` writes) for the reports.

Every table is checked as it is read: a file that is not the table it should be, or a row whose
time, number or side cannot be read, is a `RunFolderError` naming the file and its line, never a
silently empty table. A `summary.json` that cannot be read is rebuilt from the tables and the
run's `config.yaml` (the damaged file is left as it is) and `RunTables.problems` says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REQUIRED_FILES = ("summary.json", "positions.csv", "fills.csv")

_MONEY = re.compile(r"^\s*-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?:\s+[A-Z][A-Z0-9]*)?\s*$")
_EMPTY_REPORT_HEADER = ["Unnamed: 0"]  # what pandas reads from the '""' nautilus writes for an empty report

# column -> what each cell must be: "time", "number", "side" (BUY/SELL), "money" ('-12.5 USDT'), "text";
# a trailing "?" allows an empty cell
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "positions.csv": {
        "position_id": "text", "strategy_id": "text", "instrument_id": "text", "entry": "side",
        "opening_order_id": "text", "closing_order_id": "text?", "peak_qty": "number",
        "ts_opened": "time", "ts_closed": "time?", "avg_px_open": "number", "avg_px_close": "number?",
        "realized_pnl": "money?", "realized_return": "number?", "commissions": "text?",
    },
    "fills.csv": {
        "client_order_id": "text", "strategy_id": "text", "instrument_id": "text", "order_side": "side",
        "order_type": "text", "last_qty": "number", "last_px": "number", "commission": "text?", "ts_event": "time",
    },
    "account.csv": {"ts": "time", "currency": "text", "total": "number"},
    "orders.csv": {"client_order_id": "text", "instrument_id": "text", "type": "text", "tags": "text?"},
    "funding.csv": {"ts": "time", "instrument_id": "text", "amount": "number"},
    "guard_events.csv": {"ts": "text?", "guard": "text", "action": "text"},  # odd or missing times are reported, not refused
}  # fmt: skip


def settled_balances(account: pd.DataFrame, currency: str) -> pd.DataFrame:
    """The `currency` rows of a balance series (account.csv), at the moments the account holds no other currency.

    A margin account holds one currency: every row is kept. On a spot cash account a buy turns the quote
    balance into base (BTC); while it is held, the quote balance alone is not equity (it dips by the
    position's cost), so only the rows when every other balance is back to zero are kept: the equity
    curve of closed trades, as a margin account's balance is.
    """
    if set(account["currency"]) <= {currency}:
        return account[account["currency"] == currency]
    kept: list[int] = []
    latest: dict[str, float] = {}
    event: set[str] = set()
    last_ts = None
    rows = list(zip(account.index, account["ts"], account["currency"], account["total"].astype(float), strict=True))

    def close_event() -> None:
        if currency in event and all(total == 0 for code, total in latest.items() if code != currency):
            kept.append(latest_index[currency])

    latest_index: dict[str, Any] = {}
    for index, ts, code, total in rows:
        if event and (ts != last_ts or code in event):  # one AccountState event: consecutive rows, one per currency
            close_event()
            event = set()
        event.add(code)
        latest[code] = total
        latest_index[code] = index
        last_ts = ts
    if event:
        close_event()
    return account.loc[kept]


class RunFolderError(ValueError):
    """A folder that is not a run folder, or a table in it that cannot be read."""


@dataclass
class RunTables:
    """The tables of one run folder; optional ones are None when the file is missing."""

    path: Path
    summary: dict[str, Any]
    positions: pd.DataFrame
    fills: pd.DataFrame
    orders: pd.DataFrame | None
    account: pd.DataFrame | None
    funding: pd.DataFrame | None
    guard_events: pd.DataFrame | None
    instruments: dict[str, dict[str, Any]] | None
    problems: list[str] = field(default_factory=list)  # what was odd in the folder and what the reader did about it


def read_run_folder(run_dir: Path) -> RunTables:
    """Read and check a run folder's tables; raise RunFolderError naming the file (and line) that cannot be used."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not all((run_dir / name).is_file() for name in REQUIRED_FILES):
        raise RunFolderError(f"no run folder at {run_dir} (expected {', '.join(REQUIRED_FILES)})")

    def optional(name: str) -> pd.DataFrame | None:
        path = run_dir / name
        return read_table(path) if path.is_file() else None

    instruments_path = run_dir / "instruments.json"
    positions, fills, account = read_table(run_dir / "positions.csv"), read_table(run_dir / "fills.csv"), optional("account.csv")
    problems: list[str] = []
    summary = _read_summary(run_dir, positions, fills, account, problems)
    return RunTables(
        path=run_dir,
        summary=summary,
        positions=positions,
        fills=fills,
        orders=optional("orders.csv"),
        account=account,
        funding=optional("funding.csv"),
        guard_events=optional("guard_events.csv"),
        instruments=_read_json(instruments_path) if instruments_path.is_file() else None,
        problems=problems,
    )


def read_table(path: Path) -> pd.DataFrame:
    """Read one run-folder CSV and check its columns and cells (TABLE_COLUMNS); an empty nautilus report reads as an empty frame."""
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
    spec = TABLE_COLUMNS.get(path.name, {})
    if frame.empty and list(frame.columns) == _EMPTY_REPORT_HEADER:
        return pd.DataFrame()
    missing = [column for column in spec if column not in frame.columns]
    if missing:
        header = ",".join(str(c) for c in frame.columns)[:60]
        raise RunFolderError(f"{path}: not a {path.stem} table: line 1 ({header!r}) lacks the column(s) {', '.join(missing)}")
    for column, kind in spec.items():
        bad = _bad_cells(frame[column], kind.rstrip("?"), optional=kind.endswith("?"))
        if bad is not None:
            index, what = bad
            raise RunFolderError(f"{path} line {index + 2}: {column} {frame[column].iloc[index]!r} is not {what}")
    return frame


def _bad_cells(values: pd.Series, kind: str, optional: bool) -> tuple[int, str] | None:
    # the position of the first cell that is not `kind`, and what it should have been
    empty = values.isna() | (values.astype(str).str.strip() == "")
    if kind == "time":
        numeric = pd.to_numeric(values, errors="coerce")
        if numeric.notna().all():  # integer nanoseconds
            ok = pd.Series(True, index=values.index)
        else:
            ok = pd.to_datetime(values.astype(str), utc=True, format="ISO8601", errors="coerce").notna()
        what = "a time"
    elif kind == "number":
        ok, what = pd.to_numeric(values, errors="coerce").notna(), "a number"
    elif kind == "side":
        ok, what = values.isin(("BUY", "SELL")), "BUY or SELL"
    elif kind == "money":
        ok, what = values.astype(str).str.match(_MONEY), "an amount such as '-12.5 USDT'"
    else:
        ok, what = ~empty, "a value"
        if optional:
            return None
    if optional:
        ok = ok | empty
    wrong = (~ok).to_numpy().nonzero()[0]
    return (int(wrong[0]), what) if len(wrong) else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: not valid JSON ({exc})") from None


def _read_summary(run_dir: Path, positions: pd.DataFrame, fills: pd.DataFrame, account: pd.DataFrame | None, problems: list[str]) -> dict[str, Any]:
    path = run_dir / "summary.json"
    try:
        summary = json.loads(path.read_text())
        if isinstance(summary, dict):
            return summary
        why = f"a JSON {type(summary).__name__}, not an object"
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        why = f"not valid JSON: {exc}"
    starting, currency = _starting_balance(run_dir)
    if starting is None:
        raise RunFolderError(f"{path}: {why}; cannot rebuild it without the starting balance (venue.starting_balance in config.yaml)")
    from decimal import Decimal

    from ravebear.reports.run_folder import summarize

    balances = account if account is not None else pd.DataFrame(columns=["ts", "currency", "total"])
    summary = summarize(positions, fills, balances, Decimal(str(starting)))
    summary.update(currency=currency, rebuilt_from_tables=True)
    problems.append(f"{path.name} is damaged ({why}): its figures were rebuilt from the tables and config.yaml (the file was left as it is)")
    return summary


def _starting_balance(run_dir: Path) -> tuple[float | None, str]:
    # venue.starting_balance of the run's config copy, e.g. '10000 USDT'
    try:
        import yaml

        venue = yaml.safe_load((run_dir / "config.yaml").read_text()).get("venue", {})
        amount, _, currency = str(venue["starting_balance"]).partition(" ")
        return float(amount), currency.strip()
    except Exception:  # noqa: BLE001 - a missing, damaged or incomplete copy: nothing to rebuild from
        return None, ""


def run_config(run_dir: Path) -> dict[str, Any]:
    """The run's own config.yaml copy as a dict ({} when it is missing or unreadable)."""
    try:
        import yaml

        config = yaml.safe_load((Path(run_dir) / "config.yaml").read_text())
    except Exception:  # noqa: BLE001 - the copy only fills in names the tables lack
        return {}
    return config if isinstance(config, dict) else {}


def to_utc(values: Any) -> pd.Series:
    """Times of a run-folder column (ISO text or integer UTC nanoseconds) as UTC timestamps; NaT where unreadable."""
    series = pd.Series(values)
    numeric = pd.to_numeric(series, errors="coerce")
    if len(series) and numeric.notna().all():
        return pd.to_datetime(numeric.astype("int64"), utc=True)
    return pd.to_datetime(series.astype(str), utc=True, format="ISO8601", errors="coerce")


def iso(ts: Any) -> str | None:
    """ISO text of a run-folder time (None for a missing one)."""
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).isoformat()
