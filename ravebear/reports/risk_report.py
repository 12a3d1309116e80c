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
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ravebear.reports import stats
from ravebear.reports.equity import account_equity, daily_ratios, run_currency, run_span
from ravebear.reports.run_tables import REQUIRED_FILES, RunTables, iso, read_run_folder, run_config, to_utc
from ravebear.reports.trades import closed_trades, contract_multipliers, money

GUARD_COLUMNS = ("ts", "guard", "action", "instrument_id", "strategy_id", "detail")


def build_risk_report(run_dir: Path) -> dict[str, Any]:
    """Return the risk report of a run folder as a JSON-ready dict (numbers, ISO UTC times)."""
    run = read_run_folder(run_dir)
    notes: list[str] = []
    warnings = list(run.problems)  # what was odd in the folder: also printed by `ravebear report`
    starting = float(run.summary.get("starting_balance", 0.0))
    multipliers = contract_multipliers(run, notes)
    trades = closed_trades(run, multipliers)
    equity, currency = _equity(run, trades, notes)
    start, end = run_span(equity, run.fills, run.funding, run.summary.get("start"), run.summary.get("end"))
    exposure = _exposure(run.fills, multipliers, equity)
    funding = _funding(run.funding)
    guards = _guard_events(run, start, end, warnings)
    alerts = alert_load(run.path, start, end, warnings)
    fees_by = {key: _fees(run.fills, key) for key in ("instrument_id", "strategy_id")}
    if start is None:
        notes.append("no account, fill or funding event recorded: the run's period is unknown")

    returns, ratios = daily_ratios(equity, starting, start, end)
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
        "days": ratios.days,
        "strategies": _strategies(run, trades),
        "instruments": sorted({t["instrument_id"] for t in trades} | set(run.fills.get("instrument_id", [])) | set(run.instruments or {})),
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
        "sharpe": ratios.sharpe,
        "sortino": ratios.sortino,
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
            "run_summary": {key: run.summary.get(key) for key in ("sharpe", "sortino", "max_drawdown_pct")},
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
        "alerts": alerts,
        "notes": [*warnings, *notes],
        "warnings": warnings,
    }
    return _jsonable(report)


def _equity(run: RunTables, trades: list[dict[str, Any]], notes: list[str]) -> tuple[pd.Series, str]:
    starting = float(run.summary.get("starting_balance", 0.0))
    currency = run_currency(run.account, run.fills, str(run.summary.get("currency") or _config_currency(run)))
    if run.account is not None and not run.account.empty:
        return account_equity(run.account, currency), currency
    if not trades:  # nothing happened to the balance: no curve to draw
        if run.account is None:
            notes.append("account.csv missing: no equity curve")
        return account_equity(None, currency), currency
    notes.append(
        f"account.csv {'missing' if run.account is None else 'has no rows'}: "
        "the equity curve is the starting balance plus each closed trade's PnL",
    )
    stamps = [pd.Timestamp(t["exit_ts"]) for t in trades]
    first = min(pd.Timestamp(t["entry_ts"]) for t in trades)
    values = starting + pd.Series([t["pnl"] for t in trades], dtype=float).cumsum()
    series = pd.Series([starting, *values], index=pd.DatetimeIndex([first, *stamps]), name="balance")
    return series, currency


def _config_currency(run: RunTables) -> str:
    # '10000 USDT' in the run's config copy
    venue = run_config(run.path).get("venue")
    return str(venue.get("starting_balance", "")).partition(" ")[2].strip() if isinstance(venue, dict) else ""


def _strategies(run: RunTables, trades: list[dict[str, Any]]) -> list[str]:
    # the run's strategy ids as summary.json records them, or that traded or met a guard; else the config's strategy classes
    names = set(run.summary.get("strategies") or []) | {t["strategy_id"] for t in trades} | set(run.fills.get("strategy_id", []))
    if run.guard_events is not None and "strategy_id" in run.guard_events:
        names |= {str(name) for name in run.guard_events["strategy_id"].dropna() if str(name)}
    if not names:
        for entry in run_config(run.path).get("strategies") or []:
            path = str(entry.get("strategy_path", "")) if isinstance(entry, dict) else ""
            if path:
                names.add(path.rpartition(":")[2])
    return sorted(names)


def _times(frame: pd.DataFrame | None) -> pd.Series | None:
    # a `ts` column of ISO UTC text or of integer nanoseconds
    if frame is None or frame.empty:
        return None
    return to_utc(frame["ts"])


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
    frame = frame.assign(amount=frame["amount"].astype(float), ts=_times(frame).to_numpy())
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


_FIGURES = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")


def alert_load(run_dir: Path, start: pd.Timestamp | None, end: pd.Timestamp | None, warnings: list[str]) -> dict[str, Any]:
    """The alerts a live node would have sent with this config (alerts.csv of a backtest in shadow mode), per channel:
    total, mean per UTC day of the run (days without alerts count) and the busiest day."""
    path = run_dir / "alerts.csv"
    if not path.is_file():
        return {"recorded": False, "days": 0, "channels": []}
    try:
        frame = pd.read_csv(path, dtype={"day": str, "channel": str})
        frame["alerts"] = pd.to_numeric(frame["alerts"], errors="raise").astype(int)
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        warnings.append(f"alerts.csv: unreadable ({exc}): no alert load")
        return {"recorded": False, "days": 0, "channels": []}
    days = (end.normalize() - start.normalize()).days + 1 if start is not None and end is not None else frame["day"].nunique()
    channels = []
    for channel, rows in frame.groupby("channel", sort=True):
        busiest = rows.loc[rows["alerts"].idxmax()]
        total = int(rows["alerts"].sum())
        channels.append({"channel": channel, "total": total, "per_day": total / max(days, 1), "max_day": int(busiest["alerts"]), "busiest_day": busiest["day"]})
    return {"recorded": True, "days": int(days), "channels": channels}


def _guard_events(run: RunTables, start: pd.Timestamp | None, end: pd.Timestamp | None, notes: list[str]) -> dict[str, Any]:
    frame = run.guard_events
    if frame is None:
        return {"recorded": False, "events": [], "counts": [], "groups": []}
    if frame.empty:
        return {"recorded": True, "events": [], "counts": [], "groups": []}
    times = to_utc(frame["ts"])
    unreadable = int(times.isna().sum())
    if unreadable:
        first = frame["ts"][times.isna()].iloc[0]
        notes.append(f"guard_events.csv: {unreadable} event(s) with an unreadable time (first {first!r}): listed without a time")
    wall = _session_window(run)
    if wall is not None and start is not None and end < wall[0]:  # a replay: its events carry data time, long before the session
        odd = times.notna() & (times >= wall[0]) & (times <= wall[1])
        if odd.any():
            kinds = ", ".join(sorted(set(frame.loc[odd, "guard"].astype(str) + " " + frame.loc[odd, "action"].astype(str))))
            notes.append(
                f"guard_events.csv: {int(odd.sum())} event(s) ({kinds}) carry the session's wall-clock time "
                f"({_minute(times[odd].min())}) instead of the replay's data time, as a kill switch's 'flattened' "
                "event did before RaveBear fixed it: listed, not plotted",
            )
            times = times.mask(odd)
    frame = frame.assign(ts=[iso(ts) for ts in times]).fillna("")
    events = [{column: _cell(row.get(column)) for column in GUARD_COLUMNS} for row in frame.to_dict("records")]
    counts = frame.groupby(["guard", "action"], sort=True).size()
    return {
        "recorded": True,
        "events": events,
        "counts": [{"guard": guard, "action": action, "events": int(n)} for (guard, action), n in counts.items()],
        "groups": _guard_groups(events),
    }


def _guard_groups(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # near-identical events (same guard, action, strategy, instrument, and reason but for its figures) as one row
    groups: dict[tuple, dict[str, Any]] = {}
    for event in events:
        key = (event["guard"], event["action"], event["strategy_id"], event["instrument_id"], _FIGURES.sub("#", event["detail"] or ""))
        group = groups.setdefault(key, {
            "guard": event["guard"], "action": event["action"], "strategy_id": event["strategy_id"],
            "instrument_id": event["instrument_id"], "events": 0, "first": None, "last": None, "detail": event["detail"],
        })  # fmt: skip
        group["events"] += 1
        ts = event["ts"]
        if ts is not None and (group["first"] is None or ts < group["first"]):
            group["first"], group["detail"] = ts, event["detail"]  # the first event's figures
        if ts is not None and (group["last"] is None or ts > group["last"]):
            group["last"] = ts
    return sorted(groups.values(), key=lambda g: (g["first"] or "~", g["guard"], g["strategy_id"] or ""))


def _session_window(run: RunTables) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    # the wall-clock time the session ran: from its folder name (<UTC stamp>-<name>, written at the end) back by its elapsed time
    found = re.match(r"(\d{8}T\d{6}Z)-", run.path.resolve().name)
    if not found:
        return None
    written = pd.Timestamp(found.group(1))
    elapsed = pd.Timedelta(seconds=float(run.summary.get("elapsed_s") or 86_400))
    return written - elapsed - pd.Timedelta(minutes=5), written + pd.Timedelta(minutes=5)


def _minute(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def _cell(value: Any) -> Any:
    return None if value is None or value == "" or (isinstance(value, float) and math.isnan(value)) else str(value)


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
        _, ratios = daily_ratios(curve, starting, start, end)
        groups[name] = {
            **stats.trade_stats(pnls, [t["r_multiple"] for t in own]),
            "pnl": sum(pnls),
            "fees": fees.get(name, 0.0),
            "funding": None if funding is None else funding.get(name, {}).get("net", 0.0),  # None: not simulated
            "max_drawdown_pct": drawdown.pct,
            "max_drawdown": drawdown.amount,
            "sharpe": ratios.sharpe,
            "sortino": ratios.sortino,
            "profit_factor": stats.profit_factor(pnls),
            "expectancy": stats.expectancy(pnls),
        }
    return groups


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
