"""AccountView's equity: the account's balance plus the unrealized PnL of the open positions at its own venue only,
equal to nautilus's own Position arithmetic, on a real Cache holding positions at two venues (real fills at real
OKX BTC prices, valued at later real closes)."""

from __future__ import annotations

import pytest
from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OmsType, OrderSide
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.test_kit.stubs.events import TestEventStubs
from nautilus_trader.test_kit.stubs.execution import TestExecStubs

from ravebear.catalog.instruments import instrument_for
from ravebear.strategies.account_view import AccountView
from ravebear.strategies.bar_types import bar_type_for


class _Portfolio:
    """What AccountView asks of nautilus's Portfolio: the venue's account."""

    def __init__(self, account) -> None:
        self._account = account

    def account(self, venue):
        return self._account


def _position(cache: Cache, instrument, side: OrderSide, qty: str, price: float, number: int) -> Position:
    order = TestExecStubs.market_order(instrument=instrument, order_side=side, quantity=Quantity.from_str(qty))
    fill = TestEventStubs.order_filled(order, instrument, position_id=PositionId(f"P-{number}"), last_px=Price(price, instrument.price_precision))
    position = Position(instrument, fill)
    cache.add_position(position, OmsType.NETTING)
    return position


def _close(cache: Cache, instrument, close: float, ts: int) -> Price:
    price = Price(close, instrument.price_precision)
    bar_type = BarType.from_str(str(bar_type_for(instrument.id.value, "1m")))
    cache.add_bar(Bar(bar_type, price, price, price, price, Quantity.from_int(1), ts, ts))
    return price


def test_equity_counts_the_open_positions_of_its_own_venue_with_nautiluss_pnl(okx_btc):
    okx, binance = instrument_for("BTC-USDT-SWAP.OKX"), TestInstrumentProvider.btcusdt_perp_binance()
    cache = Cache()
    for instrument in (okx, binance):
        cache.add_instrument(instrument)
    entries, later = okx_btc["close"].iloc[100], okx_btc["close"].iloc[160]
    mine = [_position(cache, okx, OrderSide.BUY, "3.00", float(entries), 1)]
    other = _position(cache, binance, OrderSide.SELL, "0.500", float(entries), 2)
    marks = {okx.id: _close(cache, okx, float(later), 1), binance.id: _close(cache, binance, float(later), 1)}
    account = TestExecStubs.margin_account()
    view = AccountView(cache, _Portfolio(account), okx)
    balance = account.balance_total(okx.get_settlement_currency())
    expected = (balance.as_double() if balance is not None else 0.0) + sum(p.unrealized_pnl(marks[p.instrument_id]).as_double() for p in mine)
    assert len(cache.positions_open()) == 2 and len(cache.positions_open(venue=okx.id.venue)) == 1
    assert expected != 0.0 and other.unrealized_pnl(marks[binance.id]).as_double() != 0.0
    assert view.equity() == pytest.approx(expected, rel=1e-12)
    assert view.exposures()[0] == 1  # one open position at its venue
