"""Build the risk report of a backtest run from its run folder (every number, no formatting).

Inputs (written by `ravebear.reports.run_folder` and the strategies):
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

import ast
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ravebear.reports import stats

REQUIRED_FILES = ("summary.json", "positions.csv", "fills.csv")
BRACKET_TAG_EXITS = {"STOP_LOSS": "stop", "TAKE_PROFIT": "take_profit"}  # nautilus bracket order tags
ORDER_TYPE_EXITS = {
    "STOP_MARKET": "stop",
    "STOP_LIMIT": "stop",
    "MARKET_IF_TOUCHED": "take_profit",
    "LIMIT_IF_TOUCHED": "take_profit",
    "TRAILING_STOP_MARKET": "trailing",
    "TRAILING_STOP_LIMIT": "trailing",
    "MARKET": "market",
    "LIMIT": "limit",
}
GUARD_COLUMNS = ("ts", "guard", "action", "instrument_id", "strategy_id", "detail")
_MONEY = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s+[A-Z][A-Z0-9]*")


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


def build_risk_report(run_dir: Path) -> dict[str, Any]:
    """Return the risk report of a run folder as a JSON-ready dict (numbers, ISO UTC times)."""
    run = read_run_folder(run_dir)
    notes: list[str] = []
    starting = float(run.summary.get("starting_balance", 0.0))
    multipliers = _multipliers(run, notes)
    trades = _trades(run, multipliers)
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
    total_pnl = float(sum((_money(v) for v in closed_pnls), Decimal(0)))
    total_fees = float(sum((_money(v) for v in run.fills.get("commission", [])), Decimal(0)))
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
        "start": _iso(start),
        "end": _iso(end),
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
        "max_drawdown_peak": _iso(drawdown.peak_ts),
        "max_drawdown_trough": _iso(drawdown.trough_ts),
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
        "equity": [{"ts": _iso(ts), "balance": float(v)} for ts, v in equity.items()],
        "drawdown": [
            {"ts": _iso(ts), "amount": float(amount), "pct": float(fall)}
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


def _money(text: Any) -> Decimal:
    # nautilus report money: '-78.6 USDT', or a list of them for commissions: "['4.99 USDT']"
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return Decimal(0)
    found = _MONEY.findall(str(text))
    if found:
        return sum((Decimal(amount) for amount in found), Decimal(0))
    try:
        return Decimal(str(text))
    except ArithmeticError:
        return Decimal(0)


def parse_tags(text: Any) -> dict[str, str]:
    """Parse an orders.csv `tags` cell ("['risk=49.87', 'stop=64012.5']") into {key: value}; bare tags map to ''."""
    if not isinstance(text, str) or not text.strip():
        return {}
    try:
        items = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        items = re.findall(r"[^\[\]',\s]+", text)
    if isinstance(items, str):
        items = [items]
    tags: dict[str, str] = {}
    for item in items:
        key, _, value = str(item).partition("=")
        tags[key.strip()] = value.strip()
    return tags


def _float_tag(tags: dict[str, str], key: str) -> float | None:
    try:
        value = float(tags[key])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _multipliers(run: RunTables, notes: list[str]) -> dict[str, float]:
    ids = set(run.fills.get("instrument_id", [])) | set(run.positions.get("instrument_id", []))
    if run.funding is not None:
        ids |= set(run.funding.get("instrument_id", []))
    result: dict[str, float] = {}
    for instrument_id in sorted(ids):
        spec = (run.instruments or {}).get(instrument_id)
        if spec and spec.get("multiplier") is not None:
            result[instrument_id] = float(spec["multiplier"])
            continue
        from ravebear.catalog.instruments import instrument_for

        try:
            result[instrument_id] = float(instrument_for(instrument_id).multiplier)
        except ValueError:
            result[instrument_id] = 1.0
            notes.append(f"multiplier of {instrument_id} unknown: exposure and stop-based risk use 1")
    return result


def _trades(run: RunTables, multipliers: dict[str, float]) -> list[dict[str, Any]]:
    if run.positions.empty:
        return []
    tags_by_order: dict[str, Any] = {}
    types_by_order = run.fills.groupby("client_order_id")["order_type"].last().to_dict() if not run.fills.empty else {}
    if run.orders is not None:
        tags_by_order = dict(zip(run.orders["client_order_id"], run.orders["tags"], strict=True))
        types_by_order.update(zip(run.orders["client_order_id"], run.orders["type"], strict=True))
    fills = run.fills.assign(fill_ts=pd.to_datetime(run.fills["ts_event"], utc=True)) if not run.fills.empty else None
    fills_by_book = dict(list(fills.groupby(["strategy_id", "instrument_id"]))) if fills is not None else {}
    closed = run.positions[run.positions["ts_closed"].notna()].copy()
    closed["opened_at"] = pd.to_datetime(closed["ts_opened"], utc=True)
    closed["closed_at"] = pd.to_datetime(closed["ts_closed"], utc=True)
    trades = []
    for row in closed.sort_values(["closed_at", "opened_at"], kind="stable").itertuples(index=False):
        entry_tags = parse_tags(tags_by_order.get(row.opening_order_id))
        exit_tags = parse_tags(tags_by_order.get(row.closing_order_id))
        book = fills_by_book.get((row.strategy_id, row.instrument_id))
        exits = []
        if book is not None:
            # fills.csv is ordered by order, not time: the exits are the reducing fills after the entry's minute,
            # up to the close (a fill in the entry's minute belongs to the previous round trip unless it is the closing order)
            in_trade = (book["fill_ts"] > row.opened_at) & (book["fill_ts"] <= row.closed_at) | (book["client_order_id"] == row.closing_order_id)
            window = book[in_trade & (book["order_side"] != row.entry)]
            window = window.assign(closing=window["client_order_id"] == row.closing_order_id).sort_values(["fill_ts", "closing"], kind="stable")
            exits = _exit_fills(window, tags_by_order, types_by_order)
        entry_price, exit_price, quantity = float(row.avg_px_open), float(row.avg_px_close), float(row.peak_qty)
        pnl = float(_money(row.realized_pnl))
        risk, risk_source = _float_tag(entry_tags, "risk"), "risk tag"
        stop = _float_tag(entry_tags, "stop")
        if risk is None and stop is not None:
            risk, risk_source = abs(entry_price - stop) * quantity * multipliers.get(row.instrument_id, 1.0), "stop tag"
        if risk is None or risk <= 0:
            risk, risk_source = None, None
        trades.append(
            {
                "position_id": row.position_id,
                "strategy_id": row.strategy_id,
                "instrument_id": row.instrument_id,
                "side": "LONG" if row.entry == "BUY" else "SHORT",
                "entry_ts": _iso(row.opened_at),
                "exit_ts": _iso(row.closed_at),
                "duration_min": (row.closed_at - row.opened_at).total_seconds() / 60,
                "entry_price": entry_price,
                "exit_price": exit_price,
                "quantity": quantity,
                "pnl": pnl,
                "fees": float(_money(row.commissions)),
                "return_pct": float(row.realized_return) * 100,
                "stop": stop,
                "risk": risk,
                "risk_source": risk_source,
                "r_multiple": pnl / risk if risk else None,
                "exit_reason": _exit_reason(exit_tags, types_by_order.get(row.closing_order_id)),
                "exits": exits,
                "entry_order_id": row.opening_order_id,
                "exit_order_id": row.closing_order_id,
            },
        )
    return trades


def _exit_fills(window: pd.DataFrame, tags_by_order: dict[str, Any], types_by_order: dict[str, Any]) -> list[dict[str, Any]]:
    # one entry per exit order of a round trip (partial exits included), in fill order
    exits: dict[str, dict[str, Any]] = {}
    for order_id, ts, qty, price in zip(window["client_order_id"], window["ts_event"], window["last_qty"], window["last_px"], strict=True):
        entry = exits.setdefault(
            order_id,
            {"order_id": order_id, "reason": _exit_reason(parse_tags(tags_by_order.get(order_id)), types_by_order.get(order_id)), "ts": _iso(ts), "qty": 0.0, "price": 0.0},
        )
        value = entry["qty"] * entry["price"] + float(qty) * float(price)
        entry["qty"] += float(qty)
        entry["price"] = value / entry["qty"]  # average fill price of the order
    return list(exits.values())


def _exit_reason(tags: dict[str, str], order_type: Any) -> str:
    # the exit order's `exit=` tag, else its bracket tag, else its order type
    if tags.get("exit"):
        return tags["exit"]
    for tag, reason in BRACKET_TAG_EXITS.items():
        if tag in tags:
            return reason
    if not isinstance(order_type, str):
        return "unknown"
    return ORDER_TYPE_EXITS.get(order_type, order_type.lower())


def _equity(run: RunTables, trades: list[dict[str, Any]], starting: float, notes: list[str]) -> tuple[pd.Series, str]:
    currency = str(run.fills["currency"].mode().iloc[0]) if "currency" in run.fills and not run.fills.empty else ""
    if run.account is not None and not run.account.empty:
        account = run.account
        if not currency or currency not in set(account["currency"]):
            currency = str(account["currency"].iloc[0])
        rows = account[account["currency"] == currency]
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
            {"ts": _iso(ts), "qty": round(float(qty), 10), "notional": float(notional)}
            for ts, qty, notional in zip(last.index, last["_qty"], last["_notional"], strict=True)
        ]
    wide = frame.pivot_table(index="_ts", columns="instrument_id", values="_notional", aggfunc="last").ffill().fillna(0.0)
    gross = wide.abs().sum(axis=1)
    balance = equity.sort_index()
    balance = balance[~balance.index.duplicated(keep="last")].reindex(gross.index, method="ffill") if not balance.empty else None
    points = []
    for ts, notional in gross.items():
        equity_now = float(balance[ts]) if balance is not None and pd.notna(balance[ts]) else None
        points.append({"ts": _iso(ts), "notional": float(notional), "leverage": notional / equity_now if equity_now else None})
    return {"gross": points, "by_instrument": by_instrument}


def _fees(fills: pd.DataFrame, key: str) -> dict[str, float]:
    if fills.empty:
        return {}
    return {str(name): float(sum((_money(v) for v in rows["commission"]), Decimal(0))) for name, rows in fills.groupby(key, sort=True)}


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
            "ts": _iso(row["ts"]),
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
    frame = frame.assign(ts=[_iso(ts) for ts in _times(frame)])
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


def _iso(ts: Any) -> str | None:
    if ts is None or (not isinstance(ts, str) and pd.isna(ts)):
        return None
    return pd.Timestamp(ts).isoformat()


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
