"""The matching engine: orders and algo orders against the price path, booked in the ledger.

Every state change appends a push to `events` (channel, frozen snapshot) for the server to send:
`orders` (private WS), `orders-algo` (business WS), `account`. Semantics follow OKX v5 for SWAP in
net mode and cross margin: market orders fill at the last trade price; a `trigger` order fires when the
price reaches its trigger from the side it was placed on; TP/SL (`conditional`, `oco`) fire on the last
price; `move_order_stop` trails the best price after its activation price and fires `callbackRatio` (or
`callbackSpread`) behind it. A triggered algo order places a market child order that carries its
`algoId` / `algoClOrdId`. Reduce-only orders are cut to the position and fail when there is none;
an order without `reduceOnly` (nautilus sends none for SWAP orders over the WebSocket) can flip a position.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ravebear.simulators.okx_venue.ledger import ZERO, Fill, Ledger, VenueInstrument
from ravebear.simulators.okx_venue.orders import AlgoOrder, AttachedTpSl, Order

INSUFFICIENT_MARGIN = ("51008", "Order failed. Insufficient USDT margin in account")
NO_POSITION = ("51169", "Order failed because you don't have any positions in this direction for this contract to reduce or close.")
ORDER_NOT_FOUND = ("51603", "Order does not exist")
ALGO_NOT_FOUND = ("51603", "Order does not exist")
DUPLICATE_CL_ORD_ID = ("51016", "Duplicated clOrdId")
# OKX's cancel refusals: 51400 (filled, triggered or gone), 51401 (canceled before)
CANCEL_DONE = ("51400", "Cancellation failed as the order has been filled, canceled or does not exist.")
CANCEL_CANCELED = ("51401", "Cancellation failed as the order is already canceled.")


@dataclass(frozen=True)
class Outcome:
    """The venue's answer to one request: sCode "0" with the order, or an error code and message."""

    code: str
    msg: str
    ord_id: str = ""
    cl_ord_id: str = ""
    algo_id: str = ""
    algo_cl_ord_id: str = ""
    tag: str = ""
    ts: int = 0

    @property
    def ok(self) -> bool:
        """True when the venue accepted the request."""
        return self.code == "0"


class RequestError(ValueError):
    """A request the venue cannot read (OKX code 51000 'Parameter {name} error')."""

    def __init__(self, code: str, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


def decimal_arg(args: dict, name: str, required: bool = True) -> Decimal | None:
    """A numeric string argument as a Decimal; raises RequestError naming the parameter."""
    value = args.get(name)
    if value in (None, ""):
        if required:
            raise RequestError("51000", f"Parameter {name} error")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RequestError("51000", f"Parameter {name} error") from None
    if not number.is_finite():
        raise RequestError("51000", f"Parameter {name} error")
    return number


def _flag(value: object) -> bool:
    return value is True or str(value).lower() == "true"


class MatchingEngine:
    """Orders, algo orders, the last prices and the ledger of one venue account."""

    def __init__(self, instruments: dict[str, VenueInstrument], ledger: Ledger, clock_ms: Callable[[], int]) -> None:
        self.instruments = instruments
        self.by_code = {inst.inst_id_code: inst for inst in instruments.values()}
        self.ledger = ledger
        self.clock_ms = clock_ms
        self.last: dict[str, Decimal] = {}
        self.orders: dict[str, Order] = {}  # ordId -> order
        self.algos: dict[str, AlgoOrder] = {}  # algoId -> algo order
        self.events: list[tuple[str, object]] = []
        self._ids = itertools.count(700_000_001)
        self._trade_ids = itertools.count(90_000_001)
        self.rejections: list[tuple[str, str, str]] = []  # (clOrdId, code, msg) for the operator and tests
        self.unprotected: list[tuple[str, int, Decimal]] = []  # (instId, UNIX ms, position) at trades when a position had no stop resting

    # -- lookups ------------------------------------------------------------------------------

    def instrument(self, args: dict) -> VenueInstrument:
        """The instrument an argument dict names by `instId` or `instIdCode`."""
        if args.get("instId"):
            inst = self.instruments.get(str(args["instId"]))
        elif args.get("instIdCode") not in (None, ""):
            try:
                inst = self.by_code.get(int(args["instIdCode"]))
            except (TypeError, ValueError):
                inst = None
        else:
            raise RequestError("51000", "Parameter instId error")
        if inst is None:
            raise RequestError("51001", "Instrument ID does not exist")
        return inst

    def find_order(self, ord_id: str = "", cl_ord_id: str = "") -> Order | None:
        """An order by venue id or client id."""
        if ord_id and ord_id in self.orders:
            return self.orders[ord_id]
        if cl_ord_id:
            for order in self.orders.values():
                if order.cl_ord_id == cl_ord_id:
                    return order
        return None

    def find_algo(self, algo_id: str = "", algo_cl_ord_id: str = "") -> AlgoOrder | None:
        """An algo order by venue id or client id."""
        if algo_id and algo_id in self.algos:
            return self.algos[algo_id]
        if algo_cl_ord_id:
            for algo in self.algos.values():
                if algo.algo_cl_ord_id == algo_cl_ord_id:
                    return algo
        return None

    def open_orders(self) -> list[Order]:
        """Working regular orders."""
        return [o for o in self.orders.values() if o.is_open]

    def open_algos(self) -> list[AlgoOrder]:
        """Algo orders waiting for their trigger."""
        return [a for a in self.algos.values() if a.is_open]

    def next_id(self) -> str:
        """A fresh venue id."""
        return str(next(self._ids))

    # -- regular orders -----------------------------------------------------------------------

    def place_order(self, args: dict) -> Outcome:
        """Place a regular order (`op: order` or POST /trade/order), with any `attachAlgoOrds`."""
        inst = self.instrument(args)
        now = self.clock_ms()
        cl_ord_id = str(args.get("clOrdId", ""))
        tag = str(args.get("tag", ""))
        side = str(args.get("side", ""))
        if side not in ("buy", "sell"):
            raise RequestError("51000", "Parameter side error")
        ord_type = str(args.get("ordType", ""))
        if ord_type not in ("market", "limit", "post_only", "ioc", "fok"):
            raise RequestError("51000", "Parameter ordType error")
        sz = decimal_arg(args, "sz")
        px = decimal_arg(args, "px", required=ord_type != "market")
        if cl_ord_id and any(o.cl_ord_id == cl_ord_id for o in self.orders.values()):
            return self._reject(cl_ord_id, tag, now, DUPLICATE_CL_ORD_ID)
        if sz <= 0 or sz % inst.lot_sz != 0 or sz < inst.min_sz:
            return self._reject(cl_ord_id, tag, now, ("51121", f"Order quantity must be a multiple of the lot size {inst.lot_sz} and at least {inst.min_sz}"))
        reduce_only = _flag(args.get("reduceOnly"))
        if reduce_only:
            sz = self._reducible(inst, side, sz)
            if sz <= 0:
                return self._reject(cl_ord_id, tag, now, NO_POSITION)
        price = px if px is not None else self.last.get(inst.inst_id)
        if price is None:
            return self._reject(cl_ord_id, tag, now, ("51000", "Parameter px error"))
        if not self._margin_ok(inst, side, sz, price):
            return self._reject(cl_ord_id, tag, now, INSUFFICIENT_MARGIN)
        order = Order(
            inst_id=inst.inst_id, ord_id=self.next_id(), cl_ord_id=cl_ord_id, side=side, ord_type=ord_type, sz=sz, px=px,
            td_mode=str(args.get("tdMode", "cross")), tag=tag, reduce_only=reduce_only, c_time=now, u_time=now,
            lever=str(self.ledger.leverage),
        )
        for attach in args.get("attachAlgoOrds") or []:
            order.attached.append(
                AttachedTpSl(
                    attach_algo_id=self.next_id(), attach_algo_cl_ord_id=str(attach.get("attachAlgoClOrdId", "")),
                    sl_trigger_px=decimal_arg(attach, "slTriggerPx", required=False), sl_ord_px=str(attach.get("slOrdPx", "-1") or "-1"),
                    tp_trigger_px=decimal_arg(attach, "tpTriggerPx", required=False), tp_ord_px=str(attach.get("tpOrdPx", "-1") or "-1"),
                    sl_trigger_px_type=str(attach.get("slTriggerPxType", "last") or "last"),
                    tp_trigger_px_type=str(attach.get("tpTriggerPxType", "last") or "last"),
                )
            )
        self.orders[order.ord_id] = order
        self._push_order(order)
        if ord_type in ("market", "ioc", "fok"):
            fill_px = self.last.get(inst.inst_id, price)
            if ord_type == "market" or self._crosses(side, px, fill_px):
                self._fill(order, fill_px, order.sz, now, taker=True)
            if order.is_open:  # an IOC/FOK limit that did not cross
                self._cancel(order, now, source="ioc")
        elif ord_type == "limit" and self._crosses(side, px, self.last.get(inst.inst_id)):
            self._fill(order, self.last[inst.inst_id], order.sz, now, taker=True)
        elif ord_type == "post_only" and self._crosses(side, px, self.last.get(inst.inst_id)):
            self._cancel(order, now, source="post_only")
        return Outcome("0", "Order placed", ord_id=order.ord_id, cl_ord_id=cl_ord_id, tag=tag, ts=now)

    def cancel_order(self, args: dict) -> Outcome:
        """Cancel a working regular order by `ordId` or `clOrdId`."""
        self.instrument(args)
        now = self.clock_ms()
        order = self.find_order(str(args.get("ordId", "")), str(args.get("clOrdId", "")))
        if order is None:
            return Outcome(*ORDER_NOT_FOUND, cl_ord_id=str(args.get("clOrdId", "")), ts=now)
        if not order.is_open:
            refusal = CANCEL_CANCELED if order.state == "canceled" else CANCEL_DONE
            return Outcome(*refusal, ord_id=order.ord_id, cl_ord_id=order.cl_ord_id, ts=now)
        self._cancel(order, now, source="user")
        return Outcome("0", "Cancellation succeeded", ord_id=order.ord_id, cl_ord_id=order.cl_ord_id, ts=now)

    def amend_order(self, args: dict) -> Outcome:
        """Amend a working order's size or price, or its attached TP/SL before the parent fills."""
        self.instrument(args)
        now = self.clock_ms()
        order = self.find_order(str(args.get("ordId", "")), str(args.get("clOrdId", "")))
        if order is None or not order.is_open:
            return Outcome(*ORDER_NOT_FOUND, cl_ord_id=str(args.get("clOrdId", "")), ts=now)
        new_sz = decimal_arg(args, "newSz", required=False)
        new_px = decimal_arg(args, "newPx", required=False)
        if new_sz is not None:
            order.sz = new_sz
        if new_px is not None:
            order.px = new_px
        for change in args.get("attachAlgoOrds") or []:
            for attach in order.attached:
                if change.get("attachAlgoId") in (attach.attach_algo_id, None) or change.get("attachAlgoClOrdId") == attach.attach_algo_cl_ord_id:
                    attach.sl_trigger_px = decimal_arg(change, "newSlTriggerPx", required=False) or attach.sl_trigger_px
                    attach.tp_trigger_px = decimal_arg(change, "newTpTriggerPx", required=False) or attach.tp_trigger_px
        order.u_time = now
        self._push_order(order)
        return Outcome("0", "", ord_id=order.ord_id, cl_ord_id=order.cl_ord_id, ts=now)

    # -- algo orders --------------------------------------------------------------------------

    def place_algo(self, args: dict) -> Outcome:
        """Place an algo order (POST /trade/order-algo): trigger, conditional, oco or move_order_stop."""
        inst = self.instrument(args)
        now = self.clock_ms()
        algo_cl_ord_id = str(args.get("algoClOrdId", ""))
        tag = str(args.get("tag", ""))
        side = str(args.get("side", ""))
        if side not in ("buy", "sell"):
            raise RequestError("51000", "Parameter side error")
        ord_type = str(args.get("ordType", ""))
        if ord_type not in ("trigger", "conditional", "oco", "move_order_stop"):
            raise RequestError("51000", "Parameter ordType error")
        sz = decimal_arg(args, "sz")
        if algo_cl_ord_id and self.find_algo(algo_cl_ord_id=algo_cl_ord_id) is not None:
            return Outcome(*DUPLICATE_CL_ORD_ID, algo_cl_ord_id=algo_cl_ord_id, tag=tag, ts=now)
        if sz <= 0 or sz % inst.lot_sz != 0:
            return Outcome("51121", f"Order quantity must be a multiple of the lot size {inst.lot_sz}", algo_cl_ord_id=algo_cl_ord_id, ts=now)
        reduce_only = _flag(args.get("reduceOnly"))
        if reduce_only and self._reducible(inst, side, sz) <= 0:
            self.rejections.append((algo_cl_ord_id, *NO_POSITION))
            return Outcome(*NO_POSITION, algo_cl_ord_id=algo_cl_ord_id, tag=tag, ts=now)
        algo = AlgoOrder(
            inst_id=inst.inst_id, algo_id=self.next_id(), algo_cl_ord_id=algo_cl_ord_id, side=side, ord_type=ord_type, sz=sz,
            td_mode=str(args.get("tdMode", "cross")), tag=tag, reduce_only=reduce_only, c_time=now, u_time=now,
            lever=str(self.ledger.leverage),
        )
        last = self.last.get(inst.inst_id)
        if ord_type == "trigger":
            algo.trigger_px = decimal_arg(args, "triggerPx")
            algo.order_px = str(args.get("orderPx", "-1") or "-1")
            algo.trigger_px_type = str(args.get("triggerPxType", "last") or "last")
            algo.trigger_above = last is not None and algo.trigger_px > last
        elif ord_type in ("conditional", "oco"):
            algo.sl_trigger_px = decimal_arg(args, "slTriggerPx", required=False)
            algo.tp_trigger_px = decimal_arg(args, "tpTriggerPx", required=False)
            algo.sl_ord_px = str(args.get("slOrdPx", "-1") or "-1")
            algo.tp_ord_px = str(args.get("tpOrdPx", "-1") or "-1")
            if algo.sl_trigger_px is None and algo.tp_trigger_px is None:
                raise RequestError("51000", "Parameter slTriggerPx error")
        else:
            algo.callback_ratio = decimal_arg(args, "callbackRatio", required=False)
            algo.callback_spread = decimal_arg(args, "callbackSpread", required=False)
            algo.active_px = decimal_arg(args, "activePx", required=False)
            if (algo.callback_ratio is None) == (algo.callback_spread is None):
                raise RequestError("51000", "Parameter callbackRatio error")
            if algo.callback_ratio is not None and not Decimal("0.001") <= algo.callback_ratio <= Decimal("1"):
                return Outcome("51279", "The callback ratio must be between 0.001 and 1", algo_cl_ord_id=algo_cl_ord_id, ts=now)
            if algo.active_px is None and last is not None:
                self._activate(algo, last)
        self.algos[algo.algo_id] = algo
        self._push_algo(algo)
        return Outcome("0", "Order placed", algo_id=algo.algo_id, algo_cl_ord_id=algo_cl_ord_id, tag=tag, ts=now)

    def cancel_algo(self, args: dict) -> Outcome:
        """Cancel a live algo order by `algoId` or `algoClOrdId`."""
        self.instrument(args)
        now = self.clock_ms()
        algo = self.find_algo(str(args.get("algoId", "")), str(args.get("algoClOrdId", "")))
        if algo is None:
            return Outcome(*ALGO_NOT_FOUND, algo_id=str(args.get("algoId", "")), ts=now)
        if not algo.is_open:
            refusal = CANCEL_CANCELED if algo.state == "canceled" else CANCEL_DONE
            return Outcome(*refusal, algo_id=algo.algo_id, algo_cl_ord_id=algo.algo_cl_ord_id, ts=now)
        algo.state, algo.u_time = "canceled", now
        self._push_algo(algo)
        return Outcome("0", "", algo_id=algo.algo_id, algo_cl_ord_id=algo.algo_cl_ord_id, ts=now)

    def amend_algo(self, args: dict) -> Outcome:
        """Amend a live algo order's size or trigger prices (POST /trade/amend-algos)."""
        self.instrument(args)
        now = self.clock_ms()
        algo = self.find_algo(str(args.get("algoId", "")), str(args.get("algoClOrdId", "")))
        if algo is None or not algo.is_open:
            return Outcome(*ALGO_NOT_FOUND, algo_id=str(args.get("algoId", "")), ts=now)
        new_sz = decimal_arg(args, "newSz", required=False)
        if new_sz is not None:
            algo.sz = new_sz
        for field_name, key in (("trigger_px", "newTriggerPx"), ("sl_trigger_px", "newSlTriggerPx"), ("tp_trigger_px", "newTpTriggerPx")):
            value = decimal_arg(args, key, required=False)
            if value is not None:
                if algo.ord_type == "trigger" and key != "newTriggerPx":
                    field_name = "trigger_px"  # a plain trigger order amended through the TP/SL fields
                setattr(algo, field_name, value)
        algo.u_time = now
        self._push_algo(algo)
        return Outcome("0", "", algo_id=algo.algo_id, algo_cl_ord_id=algo.algo_cl_ord_id, ts=now)

    # -- the market ---------------------------------------------------------------------------

    def on_trade(self, inst_id: str, px: Decimal, ts: int) -> None:
        """A trade at `px`: fire the algo orders it reaches, fill the limit orders it crosses."""
        self.last[inst_id] = px
        for algo in [a for a in self.algos.values() if a.inst_id == inst_id and a.is_open]:
            self._check_algo(algo, px, ts)
        for order in [o for o in self.orders.values() if o.inst_id == inst_id and o.is_open and o.px is not None]:
            if self._crosses(order.side, order.px, px):
                self._fill(order, order.px, order.sz - order.acc_fill_sz, ts, taker=False)
        position = self.ledger.position(inst_id).pos
        if position != 0 and not self.protected(inst_id, position):
            self.unprotected.append((inst_id, ts, position))

    def protected(self, inst_id: str, position: Decimal) -> bool:
        """True when a stop-type algo order on the closing side rests for the position (SL, stop trigger, or trailing)."""
        closing = "sell" if position > 0 else "buy"
        for algo in self.algos.values():
            if not algo.is_open or algo.inst_id != inst_id or algo.side != closing:
                continue
            if algo.ord_type in ("conditional", "oco") and algo.sl_trigger_px is not None:
                return True
            if algo.ord_type == "trigger" and algo.trigger_above == (position < 0):  # a stop, not a take-profit
                return True
            if algo.ord_type == "move_order_stop" and algo.activated:
                return True
        return False

    def _check_algo(self, algo: AlgoOrder, px: Decimal, ts: int) -> None:
        sell = algo.side == "sell"
        if algo.ord_type == "trigger":
            fired = px >= algo.trigger_px if algo.trigger_above else px <= algo.trigger_px
            if fired:
                self._trigger(algo, px, ts, "")
        elif algo.ord_type in ("conditional", "oco"):
            # a sell TP/SL protects a long: its stop is below, its target above
            if algo.sl_trigger_px is not None and (px <= algo.sl_trigger_px if sell else px >= algo.sl_trigger_px):
                self._trigger(algo, px, ts, "sl")
            elif algo.tp_trigger_px is not None and (px >= algo.tp_trigger_px if sell else px <= algo.tp_trigger_px):
                self._trigger(algo, px, ts, "tp")
        else:
            if not algo.activated:
                if algo.active_px is not None and (px >= algo.active_px if sell else px <= algo.active_px):
                    self._activate(algo, px)
                    self._push_algo(algo)
                return
            best = max(algo.extreme_px, px) if sell else min(algo.extreme_px, px)
            if best != algo.extreme_px:
                algo.extreme_px = best
                algo.move_trigger_px = self._trail_level(algo, best)
            if px <= algo.move_trigger_px if sell else px >= algo.move_trigger_px:
                self._trigger(algo, px, ts, "")

    def _activate(self, algo: AlgoOrder, px: Decimal) -> None:
        algo.activated = True
        algo.extreme_px = px
        algo.move_trigger_px = self._trail_level(algo, px)

    def _trail_level(self, algo: AlgoOrder, best: Decimal) -> Decimal:
        inst = self.instruments[algo.inst_id]
        sign = -1 if algo.side == "sell" else 1
        if algo.callback_ratio is not None:
            level = best * (1 + sign * algo.callback_ratio)
        else:
            level = best + sign * algo.callback_spread
        return level.quantize(inst.tick_sz)

    def _trigger(self, algo: AlgoOrder, px: Decimal, ts: int, which: str) -> None:
        inst = self.instruments[algo.inst_id]
        algo.trigger_time = ts
        algo.u_time = ts
        algo.actual_side = which
        sz = algo.sz
        if algo.reduce_only or algo.attach_parent_ord_id or algo.ord_type in ("conditional", "oco", "move_order_stop"):
            sz = self._reducible(inst, algo.side, sz)  # TP/SL and trailing orders only close
        if sz <= 0:
            algo.state, algo.fail_code, algo.fail_reason = "order_failed", NO_POSITION[0], NO_POSITION[1]
            self._push_algo(algo)
            return
        child = Order(
            inst_id=algo.inst_id, ord_id=self.next_id(), cl_ord_id=algo.cl_ord_id, side=algo.side, ord_type="market", sz=sz, px=None,
            td_mode=algo.td_mode, tag=algo.tag, reduce_only=algo.reduce_only, c_time=ts, u_time=ts, algo_id=algo.algo_id,
            algo_cl_ord_id=algo.algo_cl_ord_id, lever=algo.lever, category=algo.ord_type,
        )
        algo.state, algo.ord_id, algo.actual_px, algo.actual_sz = "effective", child.ord_id, px, sz
        self.orders[child.ord_id] = child
        self._push_algo(algo)
        self._push_order(child)
        self._fill(child, px, sz, ts, taker=True)

    # -- fills --------------------------------------------------------------------------------

    def _fill(self, order: Order, px: Decimal, sz: Decimal, ts: int, taker: bool) -> None:
        inst = self.instruments[order.inst_id]
        rate = inst.taker_fee if taker else inst.maker_fee
        fee = -(px * sz * inst.ct_val * rate)
        trade_id = str(next(self._trade_ids))
        fill = self.ledger.apply(
            Fill(trade_id, trade_id, order.inst_id, order.ord_id, order.cl_ord_id, order.side, px, sz, fee, ZERO, "T" if taker else "M", ts, order.tag),
            inst,
        )
        order.avg_px = (order.avg_px * order.acc_fill_sz + px * sz) / (order.acc_fill_sz + sz)
        order.acc_fill_sz += sz
        order.fee += fee
        order.pnl += fill.pnl
        order.state = "filled" if order.acc_fill_sz >= order.sz else "partially_filled"
        order.u_time = ts
        order.last_fill = fill
        self._push_order(order)
        order.last_fill = None
        if order.state == "filled":
            self._place_attached(order, ts)
        self.events.append(("account", None))

    def _place_attached(self, order: Order, ts: int) -> None:
        exit_side = "sell" if order.side == "buy" else "buy"
        for attach in order.attached:
            both = attach.sl_trigger_px is not None and attach.tp_trigger_px is not None
            algo = AlgoOrder(
                inst_id=order.inst_id, algo_id=attach.attach_algo_id, algo_cl_ord_id=attach.attach_algo_cl_ord_id, side=exit_side,
                ord_type="oco" if both else "conditional", sz=order.acc_fill_sz, td_mode=order.td_mode, tag=order.tag, reduce_only=True,
                c_time=ts, u_time=ts, sl_trigger_px=attach.sl_trigger_px, sl_ord_px=attach.sl_ord_px, tp_trigger_px=attach.tp_trigger_px,
                tp_ord_px=attach.tp_ord_px, attach_parent_ord_id=order.ord_id, attach_algo_cl_ord_id=attach.attach_algo_cl_ord_id,
                lever=order.lever,
            )
            attach.algo_id = algo.algo_id
            self.algos[algo.algo_id] = algo
            self._push_algo(algo)

    def _cancel(self, order: Order, ts: int, source: str) -> None:
        order.state, order.u_time, order.cancel_source = "canceled", ts, source
        self._push_order(order)

    # -- margin -------------------------------------------------------------------------------

    def _reducible(self, inst: VenueInstrument, side: str, sz: Decimal) -> Decimal:
        """How much of `sz` on `side` reduces the position (0 when it would open or add)."""
        pos = self.ledger.position(inst.inst_id).pos
        if (side == "sell" and pos > 0) or (side == "buy" and pos < 0):
            return min(sz, abs(pos))
        return ZERO

    def _margin_ok(self, inst: VenueInstrument, side: str, sz: Decimal, px: Decimal) -> bool:
        pos = self.ledger.position(inst.inst_id).pos
        signed = sz if side == "buy" else -sz
        added = max(ZERO, abs(pos + signed) - abs(pos))
        if added == 0:
            return True
        needed = added * inst.ct_val * px / self.ledger.leverage + added * inst.ct_val * px * inst.taker_fee
        return needed <= self.available_equity()

    def equity(self) -> Decimal:
        """Cash plus unrealised PnL at the last prices."""
        return self.ledger.cash + sum((self.ledger.upl(i, self.last.get(i.inst_id, ZERO)) for i in self.instruments.values()), ZERO)

    def initial_margin(self) -> Decimal:
        """Margin the positions tie up."""
        return sum((self.ledger.initial_margin(i, self.last.get(i.inst_id, ZERO)) for i in self.instruments.values()), ZERO)

    def available_equity(self) -> Decimal:
        """Equity not tied up by positions or working limit orders."""
        frozen = sum(
            ((o.sz - o.acc_fill_sz) * self.instruments[o.inst_id].ct_val * o.px / self.ledger.leverage for o in self.open_orders() if o.px is not None),
            ZERO,
        )
        return self.equity() - self.initial_margin() - frozen

    # -- helpers ------------------------------------------------------------------------------

    @staticmethod
    def _crosses(side: str, limit: Decimal | None, px: Decimal | None) -> bool:
        if limit is None or px is None:
            return False
        return px <= limit if side == "buy" else px >= limit

    def _reject(self, cl_ord_id: str, tag: str, now: int, error: tuple[str, str]) -> Outcome:
        self.rejections.append((cl_ord_id, *error))
        return Outcome(error[0], error[1], cl_ord_id=cl_ord_id, tag=tag, ts=now)

    def _push_order(self, order: Order) -> None:
        self.events.append(("orders", order.snapshot()))

    def _push_algo(self, algo: AlgoOrder) -> None:
        self.events.append(("orders-algo", algo.snapshot()))
