"""A run's closed trades from its positions, orders and fills: R from the entry's tags, exit reasons, fees."""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal
from typing import Any

import pandas as pd

from ravebear.reports.run_tables import RunTables, iso


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


_MONEY = re.compile(r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s+[A-Z][A-Z0-9]*")



def money(text: Any) -> Decimal:
    """A nautilus money text ('12.5 USDT') as a Decimal (0 when empty)."""
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



def contract_multipliers(run: RunTables, notes: list[str]) -> dict[str, float]:
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



def closed_trades(run: RunTables, multipliers: dict[str, float]) -> list[dict[str, Any]]:
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
        pnl = float(money(row.realized_pnl))
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
                "entry_ts": iso(row.opened_at),
                "exit_ts": iso(row.closed_at),
                "duration_min": (row.closed_at - row.opened_at).total_seconds() / 60,
                "entry_price": entry_price,
                "exit_price": exit_price,
                "quantity": quantity,
                "pnl": pnl,
                "fees": float(money(row.commissions)),
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
            {"order_id": order_id, "reason": _exit_reason(parse_tags(tags_by_order.get(order_id)), types_by_order.get(order_id)), "ts": iso(ts), "qty": 0.0, "price": 0.0},
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
