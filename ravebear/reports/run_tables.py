"""Read a run folder's tables (the files `ravebear.reports.run_folder` writes) for the reports."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


REQUIRED_FILES = ("summary.json", "positions.csv", "fills.csv")



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
    """A folder that is not a backtest run folder."""


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



def read_run_folder(run_dir: Path) -> RunTables:
    """Read a run folder's tables; raise RunFolderError naming the path when it is not one."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not all((run_dir / name).is_file() for name in REQUIRED_FILES):
        raise RunFolderError(f"no run folder at {run_dir} (expected {', '.join(REQUIRED_FILES)})")

    def optional(name: str) -> pd.DataFrame | None:
        path = run_dir / name
        return _read_csv(path) if path.is_file() else None

    instruments_path = run_dir / "instruments.json"
    return RunTables(
        path=run_dir,
        summary=json.loads((run_dir / "summary.json").read_text()),
        positions=_read_csv(run_dir / "positions.csv"),
        fills=_read_csv(run_dir / "fills.csv"),
        orders=optional("orders.csv"),
        account=optional("account.csv"),
        funding=optional("funding.csv"),
        guard_events=optional("guard_events.csv"),
        instruments=json.loads(instruments_path.read_text()) if instruments_path.is_file() else None,
    )



def _read_csv(path: Path) -> pd.DataFrame:
    # an empty nautilus report is written as '""': read it as an empty frame
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def iso(ts: Any) -> str | None:
    """ISO text of a run-folder time (None for a missing one)."""
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).isoformat()
