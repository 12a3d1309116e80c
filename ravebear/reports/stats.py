"""Performance statistics of an equity series and a list of trade results: RaveBear's one definition.

Sharpe and Sortino: simple daily returns of the equity (the account balance) over UTC days, from the
run's first to its last day (a day's close is its last balance; a day without events keeps the previous
close; the first day is measured from the starting balance); risk-free rate 0; annualised by sqrt(365),
since crypto trades every day of the year. Sharpe = mean / standard deviation (n - 1); Sortino = mean /
downside deviation, the root mean square of min(return, 0) over all days. Profit factor: gross profit over
gross loss of the closed trades' PnL. `reports.equity` applies them to a run, for summary.json, the
terminal, the risk report and the tearsheet alike (nautilus's own 252-day figures are not shown).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

DAYS_PER_YEAR = 365  # crypto trades every day


@dataclass(frozen=True)
class Drawdown:
    """The largest peak-to-trough fall of an equity series."""

    pct: float  # <= 0, percent of the peak
    amount: float  # <= 0, in the equity's currency
    peak_ts: pd.Timestamp | None
    trough_ts: pd.Timestamp | None


def drawdown_series(equity: pd.Series) -> pd.DataFrame:
    """Return the fall below the running peak at each point: columns `amount` and `pct` (both <= 0)."""
    values = equity.astype(float)
    peaks = values.cummax()
    return pd.DataFrame({"amount": values - peaks, "pct": (values - peaks) / peaks * 100}, index=equity.index)


def max_drawdown(equity: pd.Series) -> Drawdown:
    """Return the deepest drawdown of `equity` in percent of its peak, with its amount and times."""
    if equity.empty:
        return Drawdown(0.0, 0.0, None, None)
    values = equity.astype(float).reset_index(drop=True)
    falls = drawdown_series(values)
    trough = int(falls["pct"].idxmin())
    peak = int(values.iloc[: trough + 1].idxmax())
    stamps = equity.index if isinstance(equity.index, pd.DatetimeIndex) else None
    return Drawdown(
        pct=float(falls["pct"].iloc[trough]),
        amount=float(falls["amount"].iloc[trough]),
        peak_ts=stamps[peak] if stamps is not None else None,
        trough_ts=stamps[trough] if stamps is not None else None,
    )


def daily_returns(equity: pd.Series, starting_balance: float, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Return the simple return of each UTC day from `start` to `end`; a day without events returns 0."""
    days = pd.date_range(start.floor("D"), end.floor("D"), freq="D", tz="UTC")
    closes = equity.astype(float).groupby(equity.index.floor("D")).last().reindex(days).ffill().fillna(starting_balance)
    previous = closes.shift(1).fillna(starting_balance)
    return closes / previous - 1


def sharpe(returns: pd.Series) -> float | None:
    """Return the annualised Sharpe ratio of daily returns (risk-free rate 0); None below two days or zero spread."""
    if len(returns) < 2:
        return None
    spread = float(returns.std(ddof=1))
    return _finite(float(returns.mean()) / spread * math.sqrt(DAYS_PER_YEAR)) if spread > 0 else None


def sortino(returns: pd.Series) -> float | None:
    """Return the annualised Sortino ratio: mean daily return over downside deviation (target 0); None without losing days."""
    if len(returns) < 2:
        return None
    downside = math.sqrt(float((returns.clip(upper=0) ** 2).mean()))
    return _finite(float(returns.mean()) / downside * math.sqrt(DAYS_PER_YEAR)) if downside > 0 else None


def profit_factor(pnls: Sequence[float]) -> float | None:
    """Return gross profit over gross loss; None when nothing was lost."""
    gross_win = sum(p for p in pnls if p > 0)
    gross_loss = -sum(p for p in pnls if p <= 0)
    return gross_win / gross_loss if gross_loss > 0 else None


def expectancy(pnls: Sequence[float]) -> float | None:
    """Return the average result per trade; None without trades."""
    return sum(pnls) / len(pnls) if pnls else None


def trade_stats(pnls: Sequence[float], r_multiples: Sequence[float | None]) -> dict[str, float | int | None]:
    """Return count, win rate, average win/loss, best/worst and average R of a list of trade results (None where undefined)."""
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    r_values = [r for r in r_multiples if r is not None]
    return {
        "trades": len(pnls),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": len(wins) / len(pnls) if pnls else None,
        "avg_win": sum(wins) / len(wins) if wins else None,
        "avg_loss": sum(losses) / len(losses) if losses else None,
        "best_trade": max(pnls, default=None),
        "worst_trade": min(pnls, default=None),
        "avg_r": sum(r_values) / len(r_values) if r_values else None,
        "r_trades": len(r_values),
    }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
