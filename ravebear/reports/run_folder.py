"""Turn a finished backtest engine into a summary and a run folder."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ravebear.reports.equity import account_equity, daily_ratios, run_currency, run_span
from ravebear.reports.run_tables import settled_balances

if TYPE_CHECKING:
    from nautilus_trader.backtest.engine import BacktestEngine

SUMMARY_FIELDS = (
    "trades", "win_rate", "pnl", "return_pct", "max_drawdown_pct", "sharpe", "sortino",
    "profit_factor", "expectancy", "fees",
)  # fmt: skip


@dataclass
class BalanceRecorder:
    """Record account balances as each AccountState event is published.

    nautilus 1.231's simulated exchange mutates the AccountBalance of an earlier
    AccountState in place (nautilus issue #3704), so `generate_account_report()` can show
    the starting balance already reduced by the first commission. Copying the values when
    the event is published keeps the series true.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: Any) -> None:
        """Copy the balances of one AccountState event."""
        for balance in event.balances:
            self.rows.append(
                {
                    "ts": pd.Timestamp(event.ts_event, unit="ns", tz="UTC"),
                    "currency": balance.currency.code,
                    "total": str(balance.total.as_decimal()),
                    "locked": str(balance.locked.as_decimal()),
                    "free": str(balance.free.as_decimal()),
                },
            )

    def frame(self) -> pd.DataFrame:
        """Return the recorded series."""
        return pd.DataFrame(self.rows, columns=["ts", "currency", "total", "locked", "free"])


@dataclass
class GuardRecorder:
    """Collect every GuardEvent the strategies publish (topic `ravebear.risk.guard`)."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, event: Any) -> None:
        """Copy one guard event."""
        row = event.as_dict()
        row["ts"] = pd.Timestamp(event.ts, unit="ns", tz="UTC").isoformat()
        self.rows.append(row)

    def frame(self) -> pd.DataFrame:
        """Return the recorded events in publication order."""
        return pd.DataFrame(self.rows, columns=["ts", "guard", "action", "instrument_id", "strategy_id", "detail"])


def instruments_json(engine: BacktestEngine) -> dict[str, dict[str, Any]]:
    """Contract facts the risk report needs for exposure (multiplier, precisions, quote currency)."""
    return {
        instrument.id.value: {
            "multiplier": float(instrument.multiplier),
            "price_precision": instrument.price_precision,
            "size_precision": instrument.size_precision,
            "quote": instrument.quote_currency.code,
        }
        for instrument in engine.cache.instruments()
    }


def _quote_currency(engine: BacktestEngine) -> str:
    quotes = [spec["quote"] for spec in instruments_json(engine).values()]
    return max(set(quotes), key=quotes.count) if quotes else ""


def _money(text: Any) -> Decimal:
    """Parse nautilus report money such as '-78.64999720 USDT'."""
    if isinstance(text, list):  # commissions come as a list of Money strings
        return sum((_money(item) for item in text), Decimal(0))
    return Decimal(str(text).split()[0]) if text not in (None, "") else Decimal(0)


def max_drawdown_pct(totals: pd.Series) -> float:
    """Return the largest peak-to-trough fall of a balance series, in percent (<= 0)."""
    if totals.empty:
        return 0.0
    values = totals.astype(float)
    peaks = values.cummax()
    return float(((values - peaks) / peaks).min() * 100)


def summarize(
    positions: pd.DataFrame,
    fills: pd.DataFrame,
    balances: pd.DataFrame,
    starting_balance: Decimal,
    start: Any = None,
    end: Any = None,
    funding: pd.DataFrame | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """Compute the run summary from the run's own tables (so the folder always agrees with it).

    Sharpe and Sortino are `ravebear.reports.equity.daily_ratios` of the account balance over the
    run's period (`start`/`end` widened to its events): the risk report computes the same figures.
    `currency`: the starting balance's; on a multi-currency (spot cash) account the balance figures are
    that currency's settled balances (`settled_balances`).
    """
    if currency is not None and not balances.empty:
        balances = settled_balances(balances, currency)
    closed = positions[positions["ts_closed"].notna()] if not positions.empty else positions
    pnls = [_money(value) for value in closed.get("realized_pnl", [])]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p <= 0]
    pnl = sum(pnls, Decimal(0))
    fees = sum((_money(value) for value in fills.get("commission", [])), Decimal(0))
    final_balance = Decimal(str(balances["total"].iloc[-1])) if not balances.empty else starting_balance
    gross_win = sum(wins, Decimal(0))
    gross_loss = -sum(losses, Decimal(0))
    totals = pd.concat([pd.Series([float(starting_balance)]), balances["total"].astype(float)], ignore_index=True)
    currency = currency or run_currency(balances, fills)
    equity = account_equity(balances, currency)
    period_start, period_end = run_span(equity, fills, funding, start, end)
    _, ratios = daily_ratios(equity, float(starting_balance), period_start, period_end)
    return {
        "trades": len(pnls),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate": round(len(wins) / len(pnls), 4) if pnls else None,
        "pnl": float(pnl),
        "fees": float(fees),
        "starting_balance": float(starting_balance),
        "final_balance": float(final_balance),
        "return_pct": round(float((final_balance - starting_balance) / starting_balance * 100), 4),
        "max_drawdown_pct": round(max_drawdown_pct(totals), 4),
        "sharpe": ratios.sharpe,
        "sortino": ratios.sortino,
        "ratio_days": ratios.days,
        "profit_factor": float(gross_win / gross_loss) if gross_loss > 0 else None,
        "expectancy": float(pnl / len(pnls)) if pnls else None,
        "avg_win": float(gross_win / len(wins)) if wins else None,
        "avg_loss": float(-gross_loss / len(losses)) if losses else None,
    }


@dataclass
class RunFolder:
    """Paths of one run's output."""

    path: Path
    summary: dict[str, Any]

    @property
    def report(self) -> Path:
        """The risk report if one was written, else nautilus's tearsheet, else the summary JSON."""
        for name in ("risk_report.html", "report.html"):
            if (self.path / name).exists():
                return self.path / name
        return self.path / "summary.json"


def new_run_dir(output_dir: Path, name: str) -> Path:
    """Create `output_dir/<UTC time>-<name>` (unique)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = output_dir / f"{stamp}-{name}"
    suffix = 1
    while path.exists():
        suffix += 1
        path = output_dir / f"{stamp}-{name}-{suffix}"
    path.mkdir(parents=True)
    return path


def write_run_folder(
    engine: BacktestEngine,
    run_dir: Path,
    config_text: str,
    balances: pd.DataFrame,
    starting_balance: Decimal,
    meta: dict[str, Any],
    tearsheet: bool,
    guard_events: pd.DataFrame | None = None,
    funding: pd.DataFrame | None = None,
    currency: str | None = None,
) -> RunFolder:
    """Write orders, fills, positions, balances, guard events, funding, config copy, summary JSON and the tearsheet."""
    trader = engine.trader
    orders = trader.generate_orders_report()
    fills = trader.generate_fills_report()
    positions = trader.generate_positions_report()
    orders.to_csv(run_dir / "orders.csv")
    fills.to_csv(run_dir / "fills.csv")
    positions.to_csv(run_dir / "positions.csv")
    balances.to_csv(run_dir / "account.csv", index=False)
    if guard_events is not None:
        guard_events.to_csv(run_dir / "guard_events.csv", index=False)
    if funding is not None:
        funding.to_csv(run_dir / "funding.csv", index=False)
    (run_dir / "instruments.json").write_text(json.dumps(instruments_json(engine), indent=2))
    (run_dir / "config.yaml").write_text(config_text)

    summary = summarize(positions, fills, balances, starting_balance, meta.get("start"), meta.get("end"), funding, currency)
    summary["currency"] = run_currency(balances, fills, currency or _quote_currency(engine))
    summary["strategies"] = sorted(str(strategy_id) for strategy_id in trader.strategy_ids())
    summary["orders"] = len(orders)
    summary["fills"] = len(fills)
    summary["guard_events"] = 0 if guard_events is None else len(guard_events)
    if funding is not None:
        summary["funding"] = round(float(funding["amount"].sum()), 8) if len(funding) else 0.0
    summary.update(meta)
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    if tearsheet:
        from ravebear.reports.tearsheet import write_tearsheet

        write_tearsheet(engine, run_dir / "report.html", summary)
    return RunFolder(path=run_dir, summary=summary)
