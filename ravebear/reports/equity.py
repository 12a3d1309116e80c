"""A run's equity curve, its period and its Sharpe and Sortino: the one computation the run summary
(`summary.json`, the terminal) and the risk report share, so they always show the same figures.

Equity is the account balance of the run's currency after each account event. The period runs from
the first to the last event (balances, fills, funding), widened to the run's recorded `start`/`end`.
The ratios are those of `stats.daily_returns` over that period (see `stats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from ravebear.reports import stats
from ravebear.reports.run_tables import settled_balances, to_utc


@dataclass(frozen=True)
class Ratios:
    """Sharpe and Sortino of a run's daily returns (None where undefined) and the number of days."""

    sharpe: float | None
    sortino: float | None
    days: int


def run_currency(account: pd.DataFrame | None, fills: pd.DataFrame, hint: str = "") -> str:
    """The run's currency: the fills' most common one, else `hint` (the starting balance's), else the account's first."""
    if "currency" in fills and not fills.empty:
        currency = str(fills["currency"].mode().iloc[0])
    else:
        currency = hint
    if account is not None and not account.empty and currency not in set(account["currency"]):
        currency = str(account["currency"].iloc[0])
    return currency


def account_equity(account: pd.DataFrame | None, currency: str) -> pd.Series:
    """The balance series of `currency` indexed by UTC time (empty without account rows).

    On a multi-currency (spot cash) account only the settled rows count (`settled_balances`): while a
    base position is held the quote balance alone is not equity.
    """
    if account is None or account.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"), name="balance")
    rows = settled_balances(account, currency)
    return pd.Series(rows["total"].astype(float).to_numpy(), index=pd.DatetimeIndex(to_utc(rows["ts"])), name="balance")


def run_span(
    equity: pd.Series, fills: pd.DataFrame, funding: pd.DataFrame | None, start: Any = None, end: Any = None,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:  # fmt: skip
    """First and last event of the run (balances, fills, funding) widened to a recorded start/end; (None, None) without any."""
    stamps = [ts for ts in equity.index if pd.notna(ts)]
    stamps += [to_utc([value]).iloc[0] for value in (start, end) if value]
    for frame, column in ((fills, "ts_event"), (funding, "ts")):
        if frame is not None and not frame.empty and column in frame:
            times = to_utc(frame[column]).dropna()
            stamps += [times.min(), times.max()] if not times.empty else []
    stamps = [ts for ts in stamps if pd.notna(ts)]
    return (min(stamps), max(stamps)) if stamps else (None, None)


def daily_ratios(equity: pd.Series, starting_balance: float, start: pd.Timestamp | None, end: pd.Timestamp | None) -> tuple[pd.Series, Ratios]:
    """The daily returns of the period and their annualised Sharpe and Sortino (365 days, risk-free 0)."""
    if start is None or end is None:
        return pd.Series(dtype=float), Ratios(None, None, 0)
    returns = stats.daily_returns(equity, starting_balance, start, end)
    return returns, Ratios(stats.sharpe(returns), stats.sortino(returns), len(returns))
