"""The venue's books: one cross-margin USDT account with net positions, fills and fees (OKX semantics).

Numbers are `Decimal` so the ledger agrees with nautilus to the cent and beyond. Fees are negative
when charged, as OKX reports them. A position's realised PnL and fees accumulate until it is closed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class VenueInstrument:
    """One SWAP as the venue lists it."""

    inst_id: str
    inst_id_code: int  # 1.231's WebSocket orders name the instrument by this number
    ct_val: Decimal  # base units per contract
    tick_sz: Decimal
    lot_sz: Decimal
    min_sz: Decimal
    max_lever: int
    maker_fee: Decimal  # rate, positive
    taker_fee: Decimal
    maint_margin: Decimal


@dataclass(frozen=True)
class Fill:
    """One execution."""

    trade_id: str
    bill_id: str
    inst_id: str
    ord_id: str
    cl_ord_id: str
    side: str  # buy | sell
    px: Decimal
    sz: Decimal  # contracts
    fee: Decimal  # negative = charged
    pnl: Decimal  # realised by this fill
    exec_type: str  # T taker | M maker
    ts: int  # UNIX ms
    tag: str = ""


@dataclass
class Position:
    """A net position: signed contracts, average entry, and what it realised since it opened."""

    inst_id: str
    pos: Decimal = ZERO
    avg_px: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fee: Decimal = ZERO
    c_time: int = 0
    u_time: int = 0
    trade_id: str = ""
    pos_id: int = 0


@dataclass
class Ledger:
    """Cash, positions and fills of the one account."""

    cash: Decimal
    leverage: int
    ccy: str = "USDT"
    positions: dict[str, Position] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)
    fees_paid: Decimal = ZERO  # negative sum of fees
    realized: Decimal = ZERO
    _next_pos_id: int = 1

    def position(self, inst_id: str) -> Position:
        """The instrument's position (flat when never traded)."""
        if inst_id not in self.positions:
            self.positions[inst_id] = Position(inst_id)
        return self.positions[inst_id]

    def apply(self, fill: Fill, inst: VenueInstrument) -> Fill:
        """Book a fill: move the position, realise PnL on the reduced part, charge the fee; return it with its PnL."""
        position = self.position(inst.inst_id)
        signed = fill.sz if fill.side == "buy" else -fill.sz
        pnl = ZERO
        if position.pos == 0:
            position.pos_id, self._next_pos_id = self._next_pos_id, self._next_pos_id + 1
            position.c_time, position.realized_pnl, position.fee = fill.ts, ZERO, ZERO
        if position.pos != 0 and (position.pos > 0) != (signed > 0):  # reduces, closes or flips
            closed = min(abs(signed), abs(position.pos))
            direction = 1 if position.pos > 0 else -1
            pnl = (fill.px - position.avg_px) * closed * inst.ct_val * direction
            remaining = position.pos + signed
            if remaining == 0:
                position.pos = ZERO
            elif (remaining > 0) == (position.pos > 0):
                position.pos = remaining
            else:  # flipped: the rest opens at the fill price
                position.pos, position.avg_px = remaining, fill.px
        else:
            total = abs(position.pos) + abs(signed)
            position.avg_px = (position.avg_px * abs(position.pos) + fill.px * abs(signed)) / total
            position.pos += signed
        position.realized_pnl += pnl
        position.fee += fill.fee
        position.u_time, position.trade_id = fill.ts, fill.trade_id
        self.cash += pnl + fill.fee
        self.realized += pnl
        self.fees_paid += fill.fee
        booked = Fill(**{**fill.__dict__, "pnl": pnl})
        self.fills.append(booked)
        return booked

    def upl(self, inst: VenueInstrument, mark: Decimal) -> Decimal:
        """Unrealised PnL of the instrument's position at `mark`."""
        position = self.position(inst.inst_id)
        return (mark - position.avg_px) * position.pos * inst.ct_val if position.pos else ZERO

    def initial_margin(self, inst: VenueInstrument, mark: Decimal) -> Decimal:
        """Margin the position ties up at the account leverage."""
        return abs(self.position(inst.inst_id).pos) * inst.ct_val * mark / self.leverage

    def maint_margin(self, inst: VenueInstrument, mark: Decimal) -> Decimal:
        """Maintenance margin of the position."""
        return abs(self.position(inst.inst_id).pos) * inst.ct_val * mark * inst.maint_margin
