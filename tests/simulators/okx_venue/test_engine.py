"""The venue's matching engine and ledger on their own: OKX semantics for fills, trailing, reduce-only, margin and PnL."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from ravebear.simulators.okx_venue.engine import MatchingEngine, RequestError
from ravebear.simulators.okx_venue.ledger import Ledger
from ravebear.simulators.okx_venue.runner import venue_instruments

BTC = "BTC-USDT-SWAP"


def engine(cash: str = "10000", leverage: int = 10, price: str = "65000") -> MatchingEngine:
    now = {"ms": 1_785_151_200_000}
    e = MatchingEngine(venue_instruments((BTC,)), Ledger(cash=D(cash), leverage=leverage), clock_ms=lambda: now["ms"])
    e.last[BTC] = D(price)
    return e


def market(e: MatchingEngine, side: str, sz: str, **extra) -> str:
    outcome = e.place_order({"instIdCode": 10459, "tdMode": "cross", "side": side, "ordType": "market", "sz": sz, "clOrdId": f"c{len(e.orders)}", **extra})
    assert outcome.ok, outcome
    return outcome.ord_id


def walk(e: MatchingEngine, prices: list[str]) -> None:
    for i, px in enumerate(prices):
        e.on_trade(BTC, D(px), 1_785_151_200_000 + i)


def test_a_round_trip_books_pnl_and_taker_fees_like_okx():
    e = engine()
    market(e, "buy", "2")  # 2 contracts x 0.01 BTC at 65,000 = 1,300 USDT notional
    walk(e, ["65500"])
    market(e, "sell", "2")
    fills = e.ledger.fills
    assert [f.fee for f in fills] == [D("-0.65000"), D("-0.65500")]  # 5 bps taker of 1,300 and 1,310
    assert fills[1].pnl == D("10.00")  # (65,500 - 65,000) x 0.02 BTC
    assert e.ledger.cash == D("10000") + D("10.00") - D("0.65") - D("0.655")
    assert e.ledger.position(BTC).pos == 0


def test_trailing_stop_arms_at_its_activation_price_and_fires_its_ratio_behind_the_high():
    e = engine()
    market(e, "buy", "1")
    outcome = e.place_algo({"instId": BTC, "tdMode": "cross", "side": "sell", "ordType": "move_order_stop", "sz": "1", "algoClOrdId": "t1",
                            "callbackRatio": "0.005", "activePx": "65500", "reduceOnly": True, "triggerPxType": "last"})  # fmt: skip
    algo = e.algos[outcome.algo_id]
    walk(e, ["65300", "64000"])  # a fall before activation does nothing
    assert algo.state == "live" and not algo.activated
    walk(e, ["65500", "66000"])
    assert algo.activated and algo.move_trigger_px == D("65670.0")  # 66,000 x (1 - 0.005)
    walk(e, ["65800", "65671"])
    assert algo.state == "live"
    walk(e, ["65670"])
    assert algo.state == "effective" and algo.actual_px == D("65670") and e.ledger.position(BTC).pos == 0
    child = e.orders[algo.ord_id]
    assert child.algo_cl_ord_id == "t1" and child.ord_type == "market" and child.category == "move_order_stop"


def test_a_buy_trailing_stop_trails_the_low():
    e = engine()
    market(e, "sell", "1")
    outcome = e.place_algo({"instId": BTC, "side": "buy", "ordType": "move_order_stop", "sz": "1", "callbackSpread": "100", "reduceOnly": True})
    algo = e.algos[outcome.algo_id]
    assert algo.activated and algo.move_trigger_px == D("65100.0")  # no activePx: armed at once, 100 USDT above
    walk(e, ["64000", "64099"])
    assert algo.state == "live" and algo.move_trigger_px == D("64100.0")
    walk(e, ["64100"])
    assert algo.state == "effective" and e.ledger.position(BTC).pos == 0


def test_the_attached_stop_and_target_rest_as_one_oco_once_the_entry_filled():
    e = engine()
    ord_id = market(e, "buy", "3", attachAlgoOrds=[{"attachAlgoClOrdId": "sl-1", "slTriggerPx": "64000", "slOrdPx": "-1", "tpTriggerPx": "67000", "tpOrdPx": "-1"}])
    oco = [a for a in e.algos.values() if a.attach_parent_ord_id == ord_id]
    assert len(oco) == 1 and oco[0].ord_type == "oco" and oco[0].algo_cl_ord_id == "sl-1" and oco[0].sz == D("3")
    assert e.amend_algo({"instId": BTC, "algoId": oco[0].algo_id, "newSlTriggerPx": "65010"}).ok  # break-even
    walk(e, ["65500", "65010"])
    assert oco[0].state == "effective" and oco[0].actual_side == "sl" and e.ledger.position(BTC).pos == 0
    assert e.orders[oco[0].ord_id].algo_cl_ord_id == "sl-1"  # nautilus maps the child back by algoClOrdId
    assert e.unprotected == []  # the position never traded without its stop


def test_reduce_only_orders_shrink_to_the_position_and_fail_without_one():
    e = engine()
    market(e, "buy", "1")
    stop = e.place_algo({"instId": BTC, "side": "sell", "ordType": "trigger", "sz": "5", "triggerPx": "64000", "orderPx": "-1", "reduceOnly": True})
    walk(e, ["63990"])
    assert e.algos[stop.algo_id].actual_sz == D("1") and e.ledger.position(BTC).pos == 0  # never opens a short
    refused = e.place_algo({"instId": BTC, "side": "sell", "ordType": "trigger", "sz": "1", "triggerPx": "60000", "reduceOnly": True})
    assert (refused.code, refused.msg) == ("51169", "Order failed because you don't have any positions in this direction for this contract to reduce or close.")


def test_a_market_order_without_reduce_only_flips_a_position_as_okx_would():
    # nautilus sends no reduceOnly for SWAP orders over the WebSocket: the venue must not protect the node from a flip
    e = engine()
    market(e, "buy", "1")
    market(e, "sell", "3")
    assert e.ledger.position(BTC).pos == D("-2") and e.ledger.position(BTC).avg_px == D("65000")


def test_an_entry_beyond_the_margin_is_refused_with_okx_code_51008():
    e = engine(cash="1000", leverage=2)
    outcome = e.place_order({"instId": BTC, "side": "buy", "ordType": "market", "sz": "1.6", "clOrdId": "big"})  # 1,040 USDT at 2x = 520 margin: fits
    assert outcome.ok
    assert e.available_equity() == D("1000") - D("0.52") - D("520")  # cash - fee - margin = 479.48
    refused = e.place_order({"instId": BTC, "side": "buy", "ordType": "market", "sz": "1.5", "clOrdId": "more"})  # 487.50 margin + fee > 479.48
    assert (refused.code, refused.msg) == ("51008", "Order failed. Insufficient USDT margin in account")
    assert e.rejections[-1] == ("more", "51008", "Order failed. Insufficient USDT margin in account")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"instId": "DOGE-USDT-SWAP", "side": "buy", "ordType": "market", "sz": "1"}, "Instrument ID does not exist"),
        ({"instId": BTC, "side": "long", "ordType": "market", "sz": "1"}, "Parameter side error"),
        ({"instId": BTC, "side": "buy", "ordType": "market"}, "Parameter sz error"),
        ({"instId": BTC, "side": "buy", "ordType": "limit", "sz": "1"}, "Parameter px error"),
        ({"instId": BTC, "side": "buy", "ordType": "market", "sz": "abc"}, "Parameter sz error"),
        ({"side": "buy", "ordType": "market", "sz": "1"}, "Parameter instId error"),
    ],
)
def test_malformed_orders_are_refused_with_the_parameter_named(args, message):
    with pytest.raises(RequestError, match=message):
        engine().place_order(args)


def test_an_order_size_off_the_lot_grid_is_refused():
    outcome = engine().place_order({"instId": BTC, "side": "buy", "ordType": "market", "sz": "0.015", "clOrdId": "x"})
    assert outcome.code == "51121" and "multiple of the lot size 0.01" in outcome.msg


def test_a_duplicate_client_order_id_is_refused():
    e = engine()
    market(e, "buy", "1", clOrdId="same")
    again = e.place_order({"instId": BTC, "side": "buy", "ordType": "market", "sz": "1", "clOrdId": "same"})
    assert (again.code, again.msg) == ("51016", "Duplicated clOrdId")
