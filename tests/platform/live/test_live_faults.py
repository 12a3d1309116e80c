"""Faults the local OKX venue injects into a live session: rate limits, 5xx, slow acks, a refused order, reordered pushes, a malformed frame."""

from __future__ import annotations

from collections import Counter

from ravebear.simulators.okx_venue.faults import Fault
from tests.platform.live.checks import assert_books_match, assert_no_exit_opened_a_position
from tests.platform.live.harness import finish, run_session, start_live, start_venue, wait_for, write_config


def unique_ids(ledger: dict) -> None:
    """No order reached the venue twice (a retry after a fault must not duplicate it)."""
    ids = [o["clOrdId"] for o in ledger["orders"] if o["clOrdId"]] + [a["algoClOrdId"] for a in ledger["algo_orders"]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def test_rate_limits_server_errors_and_slow_acks_are_retried_without_duplicates(tmp_path):
    venue = start_venue()
    faults = [
        Fault("rest", "429", "/api/v5/trade/order"),  # the entry bracket: HTTP 429 + code 50011
        Fault("rest", "500", "/api/v5/trade/order-algo"),  # the partial target or trailing exit: an HTML 500
        Fault("rest", "50011", "/api/v5/trade/order-algo"),  # the other one: code 50011 with HTTP 200
        Fault("rest", "503", "/api/v5/trade/amend-algos"),  # resizing the stop after the partial target
        Fault("rest", "slow", "/api/v5/trade/cancel-algos", delay_s=2.5),  # the OCO cancel acked late
    ]
    try:
        for fault in faults:
            venue.call_async(venue.venue.inject(fault))
        run = run_session(tmp_path, venue, write_config(tmp_path, venue))
        fired = venue.call(lambda: [(f.kind, where) for f, where in venue.venue.faults.fired])
        requests = venue.call(lambda: list(venue.venue.requests))
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert sorted(k for k, _ in fired) == sorted(f.kind for f in faults)  # every fault hit a real call
    # each faulted call was answered with the fault, then retried by the node and served
    for fault in faults[:4]:
        hits = [r for r in requests if r.get("path") == fault.match]
        assert any(r.get("fault") == fault.kind for r in hits) and any(r.get("status") == 200 for r in hits), (fault, hits)
    unique_ids(run.ledger)
    orders = run.csv("orders.csv")
    placed = [o for o in run.ledger["orders"] if not o["algoId"]]  # not the children of triggered algo orders
    ocos = [a for a in run.ledger["algo_orders"] if a["ordType"] == "oco"]  # one OKX OCO = the bracket's stop and target
    assert len(orders) == len(placed) + len(run.ledger["algo_orders"]) + len(ocos) == 5
    assert set(orders["status"]) <= {"FILLED", "CANCELED"}
    assert assert_books_match(run)["fills"] == 3
    assert assert_no_exit_opened_a_position(run) == 2


def test_insufficient_margin_rejection_reaches_the_log_and_the_guards(tmp_path):
    venue = start_venue(minutes=40, leverage=1)  # the account may only hold 1x its equity
    try:
        config = write_config(tmp_path, venue, strategy={"risk_per_trade_pct": 3.0, "max_leverage": 3.0},
                              risk={"max_instrument_exposure_pct": 400, "max_total_exposure_pct": 400})  # 3x passes the guards, not the venue
        run = run_session(tmp_path, venue, config)
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert run.ledger["rejections"] and run.ledger["rejections"][0]["code"] == "51008"
    assert run.ledger["fills"] == [] and run.ledger["positions"] == []
    orders = run.csv("orders.csv")
    assert list(orders["status"]) == ["REJECTED"] * 3  # entry, stop and target of the bracket
    guards = run.csv("guard_events.csv")
    rejected = guards[guards["guard"] == "order_rejected"]
    assert len(rejected) >= 1 and rejected["detail"].str.contains("Insufficient USDT margin").all()
    assert "Insufficient USDT margin" in run.output  # the node's log names the venue's reason


def holding(venue) -> bool:  # noqa: ANN001
    """The venue holds the position with its OCO stop and the trailing exit resting."""
    engine = venue.engine
    return any(p.pos != 0 for p in engine.ledger.positions.values()) and {a.ord_type for a in engine.open_algos()} >= {"oco", "move_order_stop"}


def test_reordered_pushes_and_a_malformed_frame_do_not_derail_the_node(tmp_path):
    venue = start_venue()
    try:
        # the entry's `live` and `filled` pushes arrive filled-first; the trailing exit's `live` and `effective` likewise
        venue.call_async(venue.venue.inject(Fault("push", "reorder", "orders", count=2)))
        venue.call_async(venue.venue.inject(Fault("push", "reorder", "algo-advance", count=2)))

        def mid_trade(proc) -> None:  # noqa: ANN001
            assert wait_for(venue, holding, 120, proc)
            for kind in ("private", "business", "public"):  # one truncated JSON frame on every socket
                venue.call_async(venue.venue.inject(Fault("socket", "malformed", kind)))

        run = run_session(tmp_path, venue, write_config(tmp_path, venue), during=mid_trade)
        fired = venue.call(lambda: [(f.target, f.kind, f.match) for f, _ in venue.venue.faults.fired])
        pushed = venue.call(lambda: list(venue.venue.pushed))
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert ("push", "reorder", "orders") in fired and ("push", "reorder", "algo-advance") in fired
    assert [k for t, _, k in fired if t == "socket"] == ["private", "business", "public"]
    entry_pushes = [row["state"] for kind, channel, row in pushed if channel == "orders"][:2]
    assert entry_pushes == ["live", "filled"]  # as the venue produced them; the node got them in reverse
    orders = run.csv("orders.csv")
    assert orders["status"].value_counts().to_dict() == {"FILLED": 3, "CANCELED": 2}
    # 1.231 skips a frame it cannot parse and goes on (nothing shows in the node's log): the fills after it still arrived
    after_malformed = [row for kind, channel, row in pushed if channel == "orders" and row["state"] == "filled"][1:]
    assert len(after_malformed) == 2 and all(str(row["tradeId"]) in set(run.csv("fills.csv")["trade_id"].astype(str)) for row in after_malformed)
    unique_ids(run.ledger)
    assert assert_books_match(run)["fills"] == 3
    assert assert_no_exit_opened_a_position(run) == 2


def test_ctrl_c_flatten_survives_a_rate_limited_and_a_slow_close(tmp_path):
    """stop_action flatten closes through the private WebSocket: the first close is refused (50011), the second acked late."""
    venue = start_venue()
    try:
        log = tmp_path / "live.log"
        proc = start_live(write_config(tmp_path, venue, stop_action="flatten"), log)
        assert wait_for(venue, holding, 120, proc)
        venue.call(lambda: setattr(venue.venue, "paused", True))  # nothing trades while the node stops
        venue.call_async(venue.venue.inject(Fault("ws_op", "50011", "order")))
        venue.call_async(venue.venue.inject(Fault("ws_op", "slow", "order", delay_s=2.0)))
        run = finish(venue, proc, log)
        ops = venue.call(lambda: [r for r in venue.venue.requests if r.get("op") == "order"])
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert len(ops) == 2  # the refused close, then the one that went through
    assert run.ledger["positions"] == []  # flat at the venue: no position left without its stops
    assert all(a["state"] == "canceled" for a in run.ledger["algo_orders"])
    orders = run.csv("orders.csv")
    closes = orders[orders["tags"].fillna("").str.contains("MARKET_EXIT")]
    assert list(closes["status"]) == ["REJECTED", "FILLED"]
    guards = run.csv("guard_events.csv")
    assert "Too Many Requests" in guards[guards["guard"] == "order_rejected"]["detail"].iloc[0]
    assert_books_match(run)
    assert assert_no_exit_opened_a_position(run) == 1
