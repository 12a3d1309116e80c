"""The venue's order records: regular orders and algo orders (trigger, conditional / oco TP-SL, trailing)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from ravebear.simulators.okx_venue.ledger import ZERO, Fill


@dataclass
class AttachedTpSl:
    """A TP/SL attached to a regular order; it becomes an algo order when the parent has filled."""

    attach_algo_id: str
    attach_algo_cl_ord_id: str
    sl_trigger_px: Decimal | None
    sl_ord_px: str  # "-1" = market
    tp_trigger_px: Decimal | None
    tp_ord_px: str
    sl_trigger_px_type: str = "last"
    tp_trigger_px_type: str = "last"
    algo_id: str = ""  # set once placed as an algo order


@dataclass
class Order:
    """A regular order (market, limit, post_only) or the child of a triggered algo order."""

    inst_id: str
    ord_id: str
    cl_ord_id: str
    side: str
    ord_type: str
    sz: Decimal
    px: Decimal | None
    td_mode: str
    tag: str
    reduce_only: bool
    c_time: int
    u_time: int
    state: str = "live"
    acc_fill_sz: Decimal = ZERO
    avg_px: Decimal = ZERO
    fee: Decimal = ZERO  # cumulative, negative = charged
    pnl: Decimal = ZERO
    last_fill: Fill | None = None
    algo_id: str = ""  # the algo order that created it
    algo_cl_ord_id: str = ""
    attached: list[AttachedTpSl] = field(default_factory=list)
    cancel_source: str = ""
    lever: str = ""
    category: str = "normal"  # a triggered algo order's child: the algo's ordType

    @property
    def is_open(self) -> bool:
        """Still working at the venue."""
        return self.state in ("live", "partially_filled")

    def snapshot(self) -> Order:
        """A copy frozen at this moment, for a push or a query."""
        return replace(self, attached=list(self.attached))


@dataclass
class AlgoOrder:
    """An algo order: `trigger` (stop / if-touched), `conditional` or `oco` (TP/SL), `move_order_stop` (trailing)."""

    inst_id: str
    algo_id: str
    algo_cl_ord_id: str
    side: str
    ord_type: str
    sz: Decimal
    td_mode: str
    tag: str
    reduce_only: bool
    c_time: int
    u_time: int
    trigger_px: Decimal | None = None  # trigger orders
    order_px: str = "-1"  # "-1" = market once triggered
    trigger_px_type: str = "last"
    trigger_above: bool = False  # a trigger order fires when the price reaches trigger_px from below (True) or above
    sl_trigger_px: Decimal | None = None  # conditional / oco
    sl_ord_px: str = ""
    tp_trigger_px: Decimal | None = None
    tp_ord_px: str = ""
    callback_ratio: Decimal | None = None  # move_order_stop
    callback_spread: Decimal | None = None
    active_px: Decimal | None = None
    activated: bool = False
    extreme_px: Decimal | None = None  # best price since activation
    move_trigger_px: Decimal | None = None
    state: str = "live"
    trigger_time: int = 0
    actual_px: Decimal | None = None
    actual_sz: Decimal | None = None
    actual_side: str = ""  # sl | tp for conditional / oco
    ord_id: str = ""  # the child order once triggered
    cl_ord_id: str = ""
    attach_parent_ord_id: str = ""  # the regular order this TP/SL was attached to
    attach_algo_cl_ord_id: str = ""
    fail_code: str = ""
    fail_reason: str = ""
    lever: str = ""

    @property
    def is_open(self) -> bool:
        """Still waiting for its trigger."""
        return self.state == "live"

    def snapshot(self) -> AlgoOrder:
        """A copy frozen at this moment."""
        return replace(self)
