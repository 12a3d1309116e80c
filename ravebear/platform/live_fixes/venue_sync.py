"""Live nodes: notice when the node's positions drift from the venue's and reconcile again.

nautilus 1.231's OKX clients reconnect a dropped WebSocket, log in and resubscribe, but nothing is
reconciled after a reconnect: a fill the venue pushed while the socket was down is lost, the node
keeps a position the venue no longer has, and the orders behind it look working (docs/NOTES.md,
docs/OKX_1231_ORDERS.md §4). nautilus's own periodic checks do not repair that case on OKX:
- the open-order check (`open_check_interval_secs`) never sees algo orders (stops, targets, trailing
  exits are not in `orders-pending`/`orders-history`); with `open_check_open_only=False` it marks them
  REJECTED after `open_check_missing_retries` (no client id cached for the single-order query);
- the position check (`position_check_interval_secs`) finds the missing fill but cannot place it: the
  fill of a triggered algo order carries the child's `ordId`, which the node never learned, so it
  falls back to a synthetic reconciliation order.

`VenueSync` asks the venue for its positions every `interval_s`. When the venue's and the node's net
position of an instrument differ in two checks in a row, with no order in flight (nautilus's in-flight check
queries those) and the client's sockets up (a strategy reacting to a fill while its sockets reconnect
would lose the acks of its reaction too), it
fetches the venue's orders and fills (the mass status a start reconciles) and hands the node every fill
of a working order that the node never got, as the OKX client would have from the push: the venue's
trade id, price, size and fee, on the order the fill belongs to (after an `OrderUpdated` to the
triggered child's `ordId`, which nautilus's own reconciliation skips and then fails on, falling back to
a synthetic EXTERNAL order). Only when there is no such fill does it run nautilus's full reconciliation
(`reconcile_execution_state`).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from ravebear.risk.guards import GuardEvent
from ravebear.risk.topics import GUARD_TOPIC


class VenueSync:
    """Compare the venue's positions with the node's; reconcile again on a lasting difference."""

    def __init__(self, node: Any, interval_s: float, confirmations: int = 2) -> None:
        from nautilus_trader.common.component import Logger

        self.node = node
        self.interval_s = interval_s
        self.confirmations = confirmations
        self.resyncs = 0
        self._seen: dict[str, tuple[Decimal, Decimal]] = {}
        self._count = 0
        self._log = Logger("VenueSync")

    async def run(self) -> None:
        """Once the node runs: check until cancelled (and give the clients their algo ids back if no start reconciliation did)."""
        trader = self.node.kernel.trader
        while not trader.is_running:
            await asyncio.sleep(0.05)
        restored = restore_okx_algo_ids(self.node.kernel)
        if restored:
            self._log.info(f"restored the OKX algo ids of {restored} working order(s) from the cache")
        if self.interval_s <= 0:
            return
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed query is retried at the next check
                self._log.warning(f"venue position check failed: {exc!r}")

    async def check(self) -> bool:
        """One check; True when it reconciled."""
        kernel = self.node.kernel
        if kernel.cache.orders_inflight() or not all(sockets_up(c) for c in kernel.exec_engine._clients.values()):  # noqa: SLF001
            # an order in flight is nautilus's in-flight check's (it queries the venue); and while a socket reconnects,
            # the strategy's reaction to a fill (amending its exits) would lose its acks too
            self._seen, self._count = {}, 0
            return False
        differences = await self.differences()
        if not differences:
            self._seen, self._count = {}, 0
            return False
        self._count = self._count + 1 if differences == self._seen else 1
        self._seen = differences
        if self._count < self.confirmations:
            return False
        detail = "; ".join(f"{inst}: venue {venue}, node {node}" for inst, (venue, node) in sorted(differences.items()))
        self._log.warning(f"positions differ from the venue's ({detail}): reconciling with the venue again")
        for instrument_id in differences:
            event = GuardEvent(kernel.clock.timestamp_ns(), "venue_sync", "alert", instrument_id, "", f"venue {differences[instrument_id][0]}, node {differences[instrument_id][1]}: reconciling")
            kernel.msgbus.publish(GUARD_TOPIC, event)
        self._seen, self._count = {}, 0
        self.resyncs += 1
        replayed = await self.replay_missed_fills()
        if replayed:
            self._log.warning(f"applied {replayed} fill(s) the node had missed")
        else:
            self._log.warning("no missed fill of a working order found: running nautilus's full reconciliation")
            await kernel.exec_engine.reconcile_execution_state()
        return True

    async def replay_missed_fills(self) -> int:
        """Send the node each venue fill of a still-working order that it does not have; the number sent."""
        kernel = self.node.kernel
        cache = kernel.cache
        sent = 0
        for client in kernel.exec_engine._clients.values():  # noqa: SLF001
            mass = await client.generate_mass_status(None)
            if mass is None:
                continue
            for venue_order_id, report in mass.order_reports.items():
                client_order_id = report.client_order_id or cache.client_order_id(venue_order_id)
                order = cache.order(client_order_id) if client_order_id is not None else None
                if order is None or order.is_closed:
                    continue
                known = set(order.trade_ids)
                missed = sorted((f for f in mass.fill_reports.get(venue_order_id, []) if f.trade_id not in known), key=lambda f: f.ts_event)
                if not missed:
                    continue
                instrument = cache.instrument(order.instrument_id)
                if order.venue_order_id != venue_order_id:  # a triggered algo order: its fills carry the child's ordId
                    cache.add_venue_order_id(order.client_order_id, venue_order_id, overwrite=True)
                    client.generate_order_updated(
                        strategy_id=order.strategy_id, instrument_id=order.instrument_id, client_order_id=order.client_order_id,
                        venue_order_id=venue_order_id, quantity=order.quantity, price=order.price if order.has_price else None,
                        trigger_price=order.trigger_price if order.has_trigger_price else None, ts_event=report.ts_last, venue_order_id_modified=True,
                    )  # fmt: skip
                for fill in missed:
                    self._log.warning(f"missed fill {fill.trade_id} of {order.client_order_id}: {order.side_string()} {fill.last_qty} @ {fill.last_px}")
                    client.generate_order_filled(
                        strategy_id=order.strategy_id, instrument_id=order.instrument_id, client_order_id=order.client_order_id,
                        venue_order_id=venue_order_id, venue_position_id=None, trade_id=fill.trade_id, order_side=order.side,
                        order_type=order.order_type, last_qty=fill.last_qty, last_px=fill.last_px, quote_currency=instrument.quote_currency,
                        commission=fill.commission, liquidity_side=fill.liquidity_side, ts_event=fill.ts_event,
                    )  # fmt: skip
                    sent += 1
        return sent

    async def differences(self) -> dict[str, tuple[Decimal, Decimal]]:
        """Instrument -> (venue's net position, node's) where they differ."""
        from nautilus_trader.common.enums import LogLevel
        from nautilus_trader.core.uuid import UUID4
        from nautilus_trader.execution.messages import GeneratePositionStatusReports

        kernel = self.node.kernel
        venue: dict[str, Decimal] = {}
        for client in kernel.exec_engine._clients.values():  # noqa: SLF001 - no public accessor for the clients
            command = GeneratePositionStatusReports(  # the receipt at DEBUG: at INFO it logged "Received 0 PositionReports" every check
                instrument_id=None, start=None, end=None, command_id=UUID4(), ts_init=kernel.clock.timestamp_ns(), log_receipt_level=LogLevel.DEBUG,
            )
            for report in await client.generate_position_status_reports(command):
                key = str(report.instrument_id)
                venue[key] = venue.get(key, Decimal(0)) + report.signed_decimal_qty
        node: dict[str, Decimal] = {}
        for position in kernel.cache.positions_open():
            key = str(position.instrument_id)
            node[key] = node.get(key, Decimal(0)) + position.signed_decimal_qty()
        return {key: (venue.get(key, Decimal(0)), node.get(key, Decimal(0))) for key in venue.keys() | node.keys() if venue.get(key, Decimal(0)) != node.get(key, Decimal(0))}


def sockets_up(client: Any) -> bool:
    """False while one of an OKX execution client's WebSockets (private, business) is down or reconnecting."""
    for name in ("_ws_client", "_ws_business_client"):
        ws = getattr(client, name, None)
        if ws is not None and hasattr(ws, "is_active") and not ws.is_active():
            return False
    return True


def restore_okx_algo_ids(kernel: Any) -> int:
    """Give each OKX execution client the algo id of every working conditional order it does not know (a restart).

    nautilus 1.231's OKX client keeps algo ids only in memory: it learns them from the REST answer of a new
    algo order or from a `live` algo push, and amends and cancels algo orders only by them. After a restart
    with the orders restored from Redis it knows none, so the strategy could neither resize nor cancel its
    stop, target or trailing exit ("no algo_id available for pending conditional order"); the bracket's OCO
    stayed at the venue after the position closed. An untriggered algo order's venue order id in the cache
    is its algo id (a triggered one's fill is applied by the start reconciliation first, which closes it).
    """
    from nautilus_trader.model.enums import OrderStatus, OrderType

    conditional = {OrderType.STOP_MARKET, OrderType.STOP_LIMIT, OrderType.MARKET_IF_TOUCHED, OrderType.LIMIT_IF_TOUCHED, OrderType.TRAILING_STOP_MARKET}
    restored = 0
    for client in kernel.exec_engine._clients.values():  # noqa: SLF001
        algo_ids = getattr(client, "_algo_order_ids", None)
        instruments = getattr(client, "_algo_order_instruments", None)
        if algo_ids is None:
            continue
        for order in kernel.cache.orders_open(venue=getattr(client, "venue", None)):
            if order.order_type not in conditional or order.venue_order_id is None or order.status == OrderStatus.TRIGGERED or order.filled_qty.as_decimal() > 0:
                continue
            if order.client_order_id not in algo_ids:
                algo_ids[order.client_order_id] = order.venue_order_id.value
                if instruments is not None:
                    instruments[order.client_order_id] = order.instrument_id
                restored += 1
    return restored


def install_reconciliation_fixes(kernel: Any) -> None:
    """Before the node starts: make nautilus's reconciliation apply the fills of triggered algo orders, and give the
    OKX clients their algo ids back after it (`restore_okx_algo_ids`, before the strategies start and adopt their exits).

    A stop, target or trailing exit that fired at OKX fills through a child order with its own `ordId`; its
    fills carry that id, while the node has the algo id as the order's venue order id. Live, the OKX client
    sends `OrderUpdated` with the child's id before the fill. nautilus 1.231's reconciliation (at start, after a
    restart that missed the fill) does not: `Order.apply` refuses the fill (venue order id mismatch), then an
    inferred fill fails the same way, and the position is "aligned" with a synthetic EXTERNAL order, leaving the
    strategy's position open. This wrapper sends that `OrderUpdated` first, as the client would have.
    """
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.events import OrderUpdated

    engine = kernel.exec_engine
    cache = kernel.cache
    original = engine._reconcile_order_report  # noqa: SLF001

    def reconcile(report: Any, trades: list, is_external: bool = True) -> bool:
        order = cache.order(report.client_order_id) if report.client_order_id is not None else None
        if (
            order is not None and not order.is_closed and trades and report.venue_order_id is not None
            and order.venue_order_id is not None and order.venue_order_id != report.venue_order_id
            and all(fill.venue_order_id == report.venue_order_id for fill in trades)
        ):  # fmt: skip
            cache.add_venue_order_id(order.client_order_id, report.venue_order_id, overwrite=True)
            updated = OrderUpdated(
                trader_id=order.trader_id, strategy_id=order.strategy_id, instrument_id=order.instrument_id, client_order_id=order.client_order_id,
                venue_order_id=report.venue_order_id, account_id=order.account_id or report.account_id, quantity=order.quantity,
                price=order.price if order.has_price else None, trigger_price=order.trigger_price if order.has_trigger_price else None,
                event_id=UUID4(), ts_event=report.ts_last, ts_init=kernel.clock.timestamp_ns(),
            )  # fmt: skip
            engine._handle_event_with_tracking(updated)  # noqa: SLF001
        return original(report, trades, is_external)

    engine._reconcile_order_report = reconcile  # noqa: SLF001
    reconcile_state = engine.reconcile_execution_state

    async def reconcile_then_restore(*args: Any, **kwargs: Any) -> bool:
        result = await reconcile_state(*args, **kwargs)
        restored = restore_okx_algo_ids(kernel)
        if restored:
            engine._log.info(f"restored the OKX algo ids of {restored} working order(s) from the cache")  # noqa: SLF001
        return result

    engine.reconcile_execution_state = reconcile_then_restore
