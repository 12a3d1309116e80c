"""`ravebear live --arm` against the local OKX venue: a full entry -> stop -> trailing exit cycle, fills and PnL to the cent."""

from __future__ import annotations

from decimal import Decimal


from tests.run_checks import money
from tests.platform.live.checks import assert_books_match, assert_no_exit_opened_a_position, venue_client_id
from tests.platform.live.harness import run_session, start_venue, write_config


def test_entry_stop_and_trailing_exit_trade_at_the_venue(tmp_path):
    venue = start_venue()
    try:
        run = run_session(tmp_path, venue, write_config(tmp_path, venue))
        algos = venue.call(lambda: [(a.algo_cl_ord_id, a.ord_type, a.state) for a in venue.venue.engine.algos.values()])
        unprotected = venue.call(lambda: list(venue.venue.engine.unprotected))
        requests = venue.call(lambda: list(venue.venue.requests))
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    orders = run.csv("orders.csv").set_index("client_order_id")
    tags = orders["tags"].fillna("")
    entry = orders[tags.str.contains("risk=")]
    assert len(entry) == 1 and entry["status"].iloc[0] == "FILLED"
    stop_id = orders[tags.str.contains("exit=stop")].index[0]
    trailing_id = orders[orders["type"] == "TRAILING_STOP_MARKET"].index[0]
    stop_price = Decimal(entry["tags"].iloc[0].split("stop=")[1].split("'")[0])

    # the protective stop rested at the venue as the bracket's SL from the entry fill until the position closed
    oco = next(a for a in run.ledger["algo_orders"] if a["ordType"] == "oco")
    assert oco["algoClOrdId"] == stop_id and Decimal(oco["slTriggerPx"]) == stop_price
    assert unprotected == []  # no trade printed while the venue held a position without a resting stop
    # the trailing exit: activated at its activation price, trailed the high, fired behind it
    trail = next(a for a in run.ledger["algo_orders"] if a["ordType"] == "move_order_stop")
    assert trail["algoClOrdId"] == trailing_id and trail["state"] == "effective"
    assert trail["callbackRatio"] == "0.003" and trail["reduceOnly"] == "true"
    assert Decimal(trail["moveTriggerPx"]) > Decimal(trail["activePx"]) * Decimal("0.997")  # it moved up after arming
    fills = run.csv("fills.csv").set_index("client_order_id")
    trailing_fill = Decimal(str(fills.loc[trailing_id, "last_px"]))
    assert trailing_fill <= Decimal(trail["moveTriggerPx"]) and trailing_fill == Decimal(trail["actualPx"])
    assert trailing_fill > Decimal(str(fills.loc[entry.index[0], "last_px"]))  # the trail locked in a gain
    assert orders.loc[trailing_id, "status"] == "FILLED"
    # the partial target (reduce-only MIT sent as an OKX trigger order) filled first
    target = orders[(orders["type"] == "MARKET_IF_TOUCHED") & (orders["status"] == "FILLED")]
    assert len(target) == 1 and any(a[0] == target.index[0] and a[1] == "trigger" and a[2] == "effective" for a in algos)
    # the cancel: once flat, the bracket's SL/TP (one OCO at OKX) was canceled at the venue and in the node
    assert oco["state"] == "canceled"
    assert orders.loc[stop_id, "status"] == "CANCELED"
    assert any(r.get("path") == "/api/v5/trade/cancel-algos" and r.get("status") == 200 for r in requests)
    assert not [r for r in requests if r.get("status") == 401]  # every signed call verified
    # the books: every fill, the fees, the balance and the PnL equal the venue's
    figures = assert_books_match(run)
    assert figures["fills"] == 3 and figures["pnl"] > 0
    assert [venue_client_id(run.ledger, f["ordId"]) for f in run.ledger["fills"]] == [entry.index[0], target.index[0], trailing_id]
    assert abs(money(run.csv("positions.csv")["realized_pnl"].iloc[0]) - figures["pnl"]) < Decimal("0.01")
    assert run.ledger["positions"] == []
    assert assert_no_exit_opened_a_position(run) == 2
