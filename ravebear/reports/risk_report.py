"""Build the risk report of a backtest run from its run folder (every number, no formatting).

Inputs (read by `run_tables.py`; trades and their R from `trades.py`):
* `summary.json`, `positions.csv`, `fills.csv`: required.
* `account.csv`: the balance series (the equity curve); without it the curve is rebuilt
  from the closed trades.
* `orders.csv`: tags of entry orders (`risk=<quote amount lost at the stop>`, `stop=<price>`)
  give each trade's R; tags of exit orders (`exit=<reason>`) give its exit reason, else the
  exit order's type does.
* `instruments.json` (contract multipliers), `funding.csv`, `guard_events.csv`: optional.

Under NETTING each closed round trip is a positions row with `ts_closed` set (docs/NOTES.md).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ravebear.reports import stats
from ravebear.reports.run_tables import REQUIRED_FILES, RunTables, iso, read_run_folder, settled_balances
from ravebear.reports.trades import closed_trades, contract_multipliers, money

GUARD_COLUMNS = ("ts", "guard", "action", "instrument_id", "strategy_id", "detail")


def build_risk_report(run_dir: Path) -> dict[str, Any]:
    """Return the risk report of a run folder as a JSON-ready dict (numbers, ISO UTC times)."""
    run = read_run_folder(run_dir)
    notes: list[str] = []
    starting = float(run.summary.get("starting_balance", 0.0))
    multipliers = contract_multipliers(run, notes)
    trades = closed_trades(run, multipliers)
    equity, currency = _equity(run, trades, starting, notes)
    start, end = _span(run, equity)
    exposure = _exposure(run.fills, multipliers, equity)
    funding = _funding(run.funding)
    guards = _guard_events(run.guard_events)
    fees_by = {key: _fees(run.fills, key) for key in ("instrument_id", "strategy_id")}

    returns = stats.daily_returns(equity, starting, start, end)
    drawdown = stats.max_drawdown(equity)
    falls = stats.drawdown_series(equity)
    pnls = [t["pnl"] for t in trades]
    r_values = [t["r_multiple"] for t in trades if t["r_multiple"] is not None]
    closed_pnls = run.positions["realized_pnl"][run.positions["ts_closed"].notna()] if not run.positions.empty else []
    total_pnl = float(sum((money(v) for v in closed_pnls), Decimal(0)))
    total_fees = float(sum((money(v) for v in run.fills.get("commission", [])), Decimal(0)))
    final = float(equity.iloc[-1]) if not equity.empty else starting
    open_positions = int(run.positions["ts_closed"].isna().sum()) if not run.positions.empty else 0
    if open_positions:
        notes.append(f"{open_positions} position(s) still open at the end of the run: not in the trade list")
    if run.orders is None:
        notes.append("orders.csv missing: no R multiples; exit reasons from the fills' order types")
    elif not r_values and trades:
        notes.append("no entry order carries a risk= or stop= tag: R multiples are not available")
    if not funding["simulated"]:
        notes.append("funding: not simulated for this run")
    if not guards["recorded"]:
        notes.append("no guard events recorded (guard_events.csv missing)")
    notes.append(
        "equity is the account balance: realized PnL after fees (and funding if the run booked it); "
        "open positions are not marked to market",
    )

    summary = {
        "currency": currency,
        "start": iso(start),
        "end": iso(end),
        "days": len(returns),
        "strategies": sorted({t["strategy_id"] for t in trades} | set(run.fills.get("strategy_id", []))),
        "instruments": sorted({t["instrument_id"] for t in trades} | set(run.fills.get("instrument_id", []))),
        **stats.trade_stats(pnls, [t["r_multiple"] for t in trades]),
        "pnl": total_pnl,
        "fees": total_fees,
        "funding": funding["total"],
        "starting_balance": starting,
        "final_balance": final,
        "balance_change": final - starting,
        "return_pct": (final - starting) / starting * 100 if starting else None,
        "max_drawdown_pct": drawdown.pct,
        "max_drawdown": drawdown.amount,
        "max_drawdown_peak": iso(drawdown.peak_ts),
        "max_drawdown_trough": iso(drawdown.trough_ts),
        "sharpe": stats.sharpe(returns),
        "sortino": stats.sortino(returns),
        "profit_factor": stats.profit_factor(pnls),
        "expectancy": stats.expectancy(pnls),
        "max_gross_exposure": max((p["notional"] for p in exposure["gross"]), default=0.0),
        "max_leverage": max((p["leverage"] for p in exposure["gross"] if p["leverage"] is not None), default=None),
        "guard_events": len(guards["events"]),
        "open_positions": open_positions,
    }
    report = {
        "run": {
            "run_dir": str(run.path.resolve()),
            "name": run.path.resolve().name,
            "generated_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {name: (run.path / name).is_file() for name in (*REQUIRED_FILES, "account.csv", "orders.csv", "instruments.json", "funding.csv", "guard_events.csv")},
            "annualisation_days": stats.DAYS_PER_YEAR,
            "nautilus_summary": {key: run.summary.get(key) for key in ("sharpe", "sortino", "max_drawdown_pct")},
        },
        "summary": summary,
        "equity": [{"ts": iso(ts), "balance": float(v)} for ts, v in equity.items()],
        "drawdown": [
            {"ts": iso(ts), "amount": float(amount), "pct": float(fall)}
            for ts, amount, fall in zip(falls.index, falls["amount"], falls["pct"], strict=True)
        ],
        "daily_returns": [{"day": ts.date().isoformat(), "return": float(v)} for ts, v in returns.items()],
        "exposure": exposure,
        "trades": trades,
        "by_strategy": _groups(trades, "strategy_id", fees_by["strategy_id"], funding["by_strategy"] if funding["simulated"] else None, starting, start, end),
        "by_instrument": _groups(trades, "instrument_id", fees_by["instrument_id"], funding["by_instrument"] if funding["simulated"] else None, starting, start, end),
        "fees": {"total": total_fees, "by_instrument": fees_by["instrument_id"], "by_strategy": fees_by["strategy_id"]},
        "funding": funding,
        "guard_events": guards,
        "notes": notes,
    }
    return _jsonable(report)


def _equity(run: RunTables, trades: list[dict[str, Any]], starting: float, notes: list[str]) -> tuple[pd.Series, str]:
    currency = str(run.fills["currency"].mode().iloc[0]) if "currency" in run.fills and not run.fills.empty else ""
    if run.account is not None and not run.account.empty:
        account = run.account
        if not currency or currency not in set(account["currency"]):
            currency = str(account["currency"].iloc[0])
        rows = settled_balances(account, currency)
        return pd.Series(rows["total"].astype(float).to_numpy(), index=pd.to_datetime(rows["ts"], utc=True), name="balance"), currency
    notes.append("account.csv missing: the equity curve is the starting balance plus each closed trade's PnL")
    stamps = [pd.Timestamp(t["exit_ts"]) for t in trades]
    first = min((pd.Timestamp(t["entry_ts"]) for t in trades), default=pd.Timestamp.now(tz="UTC"))
    values = starting + pd.Series([t["pnl"] for t in trades], dtype=float).cumsum()
    series = pd.Series([starting, *values], index=pd.DatetimeIndex([first, *stamps]), name="balance")
    return series, currency


def _span(run: RunTables, equity: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp]:
    # first and last event (balances, fills, funding, guards), widened to summary.json's `start`/`end` when it records them
    stamps = list(equity.index)
    stamps += [_utc(run.summary[key]) for key in ("start", "end") if run.summary.get(key)]
    for times in (
        pd.to_datetime(run.fills["ts_event"], utc=True) if not run.fills.empty else None,
        _times(run.funding), _times(run.guard_events),
    ):  # fmt: skip
        if times is not None and not times.empty:
            stamps += [times.min(), times.max()]
    return min(stamps), max(stamps)


def _times(frame: pd.DataFrame | None) -> pd.Series | None:
    # a `ts` column of ISO UTC text or of integer nanoseconds
    if frame is None or frame.empty:
        return None
    return pd.to_datetime(frame["ts"], utc=True)


def _exposure(fills: pd.DataFrame, multipliers: dict[str, float], equity: pd.Series) -> dict[str, Any]:
    # signed notional per instrument (cumulative signed qty x last fill price x multiplier) and gross, after each fill time
    if fills.empty:
        return {"gross": [], "by_instrument": {}}
    frame = fills.assign(_ts=pd.to_datetime(fills["ts_event"], utc=True)).sort_values("_ts", kind="stable")
    signed = frame["last_qty"].astype(float).where(frame["order_side"] == "BUY", -frame["last_qty"].astype(float))
    frame = frame.assign(_qty=signed.groupby(frame["instrument_id"]).cumsum())
    frame["_notional"] = frame["_qty"] * frame["last_px"].astype(float) * frame["instrument_id"].map(multipliers).fillna(1.0)
    by_instrument = {}
    for instrument_id, rows in frame.groupby("instrument_id", sort=True):
        last = rows.groupby("_ts").last()  # the position at the end of each fill time
        by_instrument[instrument_id] = [
            {"ts": iso(ts), "qty": round(float(qty), 10), "notional": float(notional)}
            for ts, qty, notional in zip(last.index, last["_qty"], last["_notional"], strict=True)
        ]
    wide = frame.pivot_table(index="_ts", columns="instrument_id", values="_notional", aggfunc="last").ffill().fillna(0.0)
    gross = wide.abs().sum(axis=1)
    balance = equity.sort_index()
    balance = balance[~balance.index.duplicated(keep="last")].reindex(gross.index, method="ffill") if not balance.empty else None
    points = []
    for ts, notional in gross.items():
        equity_now = float(balance[ts]) if balance is not None and pd.notna(balance[ts]) else None
        points.append({"ts": iso(ts), "notional": float(notional), "leverage": notional / equity_now if equity_now else None})
    return {"gross": points, "by_instrument": by_instrument}


def _fees(fills: pd.DataFrame, key: str) -> dict[str, float]:
    if fills.empty:
        return {}
    return {str(name): float(sum((money(v) for v in rows["commission"]), Decimal(0))) for name, rows in fills.groupby(key, sort=True)}


def _funding(frame: pd.DataFrame | None) -> dict[str, Any]:
    if frame is None:
        return {"simulated": False, "total": None, "by_instrument": {}, "by_strategy": {}, "events": []}
    if frame.empty:
        return {"simulated": True, "total": 0.0, "by_instrument": {}, "by_strategy": {}, "events": []}
    frame = frame.assign(amount=frame["amount"].astype(float), ts=_times(frame))
    if "strategy_id" not in frame and "position_id" in frame:  # NETTING position ids read '<instrument_id>-<strategy_id>'
        frame["strategy_id"] = [
            str(position_id).removeprefix(f"{instrument_id}-") for position_id, instrument_id in zip(frame["position_id"], frame["instrument_id"], strict=True)
        ]

    def totals(key: str) -> dict[str, dict[str, Any]]:
        if key not in frame:
            return {}
        return {
            str(name): {
                "events": len(rows),
                "paid": float(rows.loc[rows["amount"] < 0, "amount"].sum()),
                "received": float(rows.loc[rows["amount"] > 0, "amount"].sum()),
                "net": float(rows["amount"].sum()),
            }
            for name, rows in frame.groupby(key, sort=True)
        }

    events = [
        {
            "ts": iso(row["ts"]),
            "instrument_id": row["instrument_id"],
            "position_qty": float(row["position_qty"]),
            "price": float(row["price"]),
            "rate": float(row["rate"]),
            "amount": float(row["amount"]),
        }
        for row in frame.to_dict("records")
    ]
    return {
        "simulated": True, "total": float(frame["amount"].sum()), "by_instrument": totals("instrument_id"),
        "by_strategy": totals("strategy_id"), "events": events,
    }  # fmt: skip


def _guard_events(frame: pd.DataFrame | None) -> dict[str, Any]:
    if frame is None:
        return {"recorded": False, "events": [], "counts": []}
    if frame.empty:
        return {"recorded": True, "events": [], "counts": []}
    frame = frame.assign(ts=[iso(ts) for ts in _times(frame)])
    events = [{column: _cell(row.get(column)) for column in GUARD_COLUMNS} for row in frame.to_dict("records")]
    counts = frame.fillna("").groupby(["guard", "action"], sort=True).size()
    return {
        "recorded": True,
        "events": events,
        "counts": [{"guard": guard, "action": action, "events": int(n)} for (guard, action), n in counts.items()],
    }


def _cell(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _groups(
    trades: list[dict[str, Any]], key: str, fees: dict[str, float], funding: dict[str, dict[str, Any]] | None,
    starting: float, start: pd.Timestamp, end: pd.Timestamp,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    # drawdown and ratios of a group from the starting balance plus that group's closed-trade PnL
    names = sorted({t[key] for t in trades} | set(fees) | set(funding or {}))
    groups = {}
    for name in names:
        own = [t for t in trades if t[key] == name]
        pnls = [t["pnl"] for t in own]
        curve = pd.Series(
            [starting, *(starting + pd.Series(pnls, dtype=float).cumsum())],
            index=pd.DatetimeIndex([start, *(pd.Timestamp(t["exit_ts"]) for t in own)]),
        )
        drawdown = stats.max_drawdown(curve)
        returns = stats.daily_returns(curve, starting, start, end)
        groups[name] = {
            **stats.trade_stats(pnls, [t["r_multiple"] for t in own]),
            "pnl": sum(pnls),
            "fees": fees.get(name, 0.0),
            "funding": None if funding is None else funding.get(name, {}).get("net", 0.0),  # None: not simulated
            "max_drawdown_pct": drawdown.pct,
            "max_drawdown": drawdown.amount,
            "sharpe": stats.sharpe(returns),
            "sortino": stats.sortino(returns),
            "profit_factor": stats.profit_factor(pnls),
            "expectancy": stats.expectancy(pnls),
        }
    return groups


def _utc(value: Any) -> pd.Timestamp:
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value
