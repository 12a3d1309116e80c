"""Node events to typed alerts: pure functions, one per event family, so a backtest's shadow count and a
live node's messages come from the same text."""

from __future__ import annotations

from typing import Any

from ravebear.adapters.discord.alerts import Alert, AlertKind
from ravebear.risk.guards import GuardEvent

TRIP_ACTIONS = ("blocked", "halted", "flattened")
FEED_STALLED = "feed_stalled"


def base_symbol(instrument_id: str) -> str:
    """'BTC-USDT-SWAP.OKX' -> 'BTC' (the channel key)."""
    return instrument_id.split(".")[0].split("-")[0].split("/")[0].upper()


def _price(value: float) -> str:
    return f"{value:,.2f}" if value < 1000 else f"{value:,.1f}"


def level_alert(event: Any, context: dict[str, str] | None = None) -> Alert | None:
    """A created or touched level (LevelEventData); other level events are not alerted. `context` adds fields
    such as the order-flow context at the touch."""
    if event.event not in ("created", "touched"):
        return None
    instrument = event.instrument_id.value
    zone = _price(event.low) if event.low == event.high else f"{_price(event.low)}–{_price(event.high)}"
    kind = AlertKind.LEVEL_CREATED if event.event == "created" else AlertKind.LEVEL_TOUCHED
    verb = "new" if event.event == "created" else "touched"
    fields = [("timeframe", event.timeframe), ("score", f"{event.score * 100:.0f}"), ("age", f"{event.age_bars} bars")]
    if event.event == "touched":
        fields.append(("depth", f"{event.depth_bps:.1f} bps"))
    fields += list((context or {}).items())
    return Alert(kind, base_symbol(instrument), f"{base_symbol(instrument)} {verb} {event.timeframe} {event.kind} {event.side} {zone}",
                 int(event.ts_event), key=f"{instrument}:{event.kind}:{event.timeframe}:{event.created_ts}:{event.low}",
                 score=event.score * 100, fields=tuple(fields))


def context_fields(context: Any) -> dict[str, str]:
    """A LevelFlowContext as alert fields: OBI, delta, absorption tier, the latest whale, the zone's defense."""
    fields = {"OBI": f"{context.obi:+.2f}" if context.has_book else "no book", "delta": f"{context.delta:+,.3f}",
              "absorption": f"tier {context.absorption_tier}"}
    if context.whale_side and context.whale_age_s >= 0:
        fields["whale"] = f"{'buy' if context.whale_side > 0 else 'sell'} {context.whale_notional:,.0f} {context.whale_age_s:.0f} s ago"
    if context.zone_state:
        fields["zone"] = context.zone_state + (" (defended)" if context.zone_defended and context.zone_state != "defended" else "")
    return fields


def entry_alert(position: Any, risk: float | None) -> Alert:
    """A position opened (nautilus PositionOpened); `risk` is the money at risk to the stop, when known."""
    instrument = position.instrument_id.value
    fields = [("side", str(position.side.name)), ("qty", str(position.quantity)), ("price", _price(float(position.avg_px_open)))]
    if risk:
        fields.append(("risk", f"{risk:,.2f} {position.currency}"))
    return Alert(AlertKind.ENTRY, base_symbol(instrument), f"{base_symbol(instrument)} {position.side.name.lower()} entry at {_price(float(position.avg_px_open))}",
                 int(position.ts_event), key=f"{instrument}:{position.ts_event}", fields=tuple(fields))


def exit_alert(position: Any, risk: float | None) -> Alert:
    """A position closed (nautilus PositionClosed): PnL, and R when the entry's risk is known."""
    instrument = position.instrument_id.value
    pnl = float(position.realized_pnl)
    fields = [("side", str(position.side.name) if position.side.name != "FLAT" else str(position.entry.name)),
              ("open", _price(float(position.avg_px_open))), ("close", _price(float(position.avg_px_close))), ("PnL", f"{pnl:+,.2f} {position.currency}")]
    r = pnl / risk if risk else None
    if r is not None:
        fields.append(("R", f"{r:+.2f}"))
    title = f"{base_symbol(instrument)} exit {pnl:+,.2f} {position.currency}" + (f" ({r:+.2f} R)" if r is not None else "")
    return Alert(AlertKind.EXIT, base_symbol(instrument), title, int(position.ts_event), key=f"{instrument}:{position.ts_opened}", fields=tuple(fields))


def fill_alert(fill: Any) -> Alert:
    """An order filled (nautilus OrderFilled)."""
    instrument = fill.instrument_id.value
    return Alert(AlertKind.FILL, base_symbol(instrument), f"{base_symbol(instrument)} {fill.order_side.name.lower()} {fill.last_qty} filled at {_price(float(fill.last_px))}",
                 int(fill.ts_event), key=f"{fill.client_order_id}:{fill.trade_id}",
                 fields=(("order", str(fill.client_order_id)), ("fee", str(fill.commission))))


def guard_alert(event: GuardEvent) -> Alert | None:
    """A guard that tripped or resumed (feed stalls have their own kind); blocked entries are alerted once per cooldown."""
    symbol = base_symbol(event.instrument_id) if event.instrument_id else ""
    if event.action == "resumed":
        kind = AlertKind.GUARD_RESUMED
    elif event.action in TRIP_ACTIONS:
        kind = AlertKind.FEED_STALL if event.guard == FEED_STALLED else AlertKind.GUARD_TRIPPED
    else:
        return None
    where = f" {event.instrument_id}" if event.instrument_id else ""
    return Alert(kind, symbol, f"{event.guard} {event.action}{where}", int(event.ts), key=f"{event.guard}:{event.instrument_id}", description=event.detail)


def whale_alert(tx: Any, instrument_symbol: str = "") -> Alert:
    """A whale transaction (WhaleTransaction); routed to the asset's symbol channel and WHALE."""
    asset = (tx.symbol or "").upper()
    flow = {"exchange_inflow": "to an exchange", "exchange_outflow": "from an exchange"}.get(tx.flow, tx.flow or "")
    title = f"{tx.amount:,.0f} {asset} (${tx.amount_usd / 1e6:,.1f}M) {flow}".strip()
    fields = (("from", tx.from_owner or "unknown"), ("to", tx.to_owner or "unknown"), ("chain", tx.blockchain), ("tier", str(tx.tier)))
    return Alert(AlertKind.WHALE, instrument_symbol or asset, title, int(tx.ts_event), key=tx.transaction_id or tx.hash, fields=fields)
