"""`ravebear live --arm` against the local OKX venue when the WebSockets drop mid-trade, and when the node is killed and restarted.

The trade: a long at the 24th minute with the bracket's stop (an OKX OCO), a partial target at the 78th minute and the
trailing exit at the 93rd. nautilus 1.231 reconnects a dropped socket, logs in and resubscribes, but reconciles
nothing after a reconnect: a fill the venue pushes while the private socket is down never reaches the node. RaveBear's
VenueSync (ravebear/platform/live_fixes/venue_sync.py) notices the position difference and applies the missed fill.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

from ravebear.simulators.okx_venue.faults import Fault
from ravebear.simulators.okx_venue.server import OKXVenue
from tests.platform.live.checks import assert_books_match, assert_no_exit_opened_a_position
from tests.platform.live.harness import finish, start_live, start_venue, wait_for, write_config

TARGET_MINUTE = 78  # the partial target (a reduce-only MIT, an OKX `trigger` algo) fires in this minute of the window


def with_node(config: Path, **node: object) -> Path:
    """The run file with more `node:` settings."""
    raw = yaml.safe_load(config.read_text())
    raw["node"].update(node)
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return config


def holding(venue: OKXVenue, from_minute: int = 0) -> bool:
    """The position is open at the venue with its OCO stop, the partial target and the trailing exit resting."""
    kinds = sorted(a.ord_type for a in venue.engine.open_algos())
    return kinds == ["move_order_stop", "oco", "trigger"] and venue.path.position >= from_minute


def channels(venue: OKXVenue, after: int) -> dict[str, set[str]]:
    """Socket kind -> the channels subscribed on the connections opened after connection number `after` (logged in where it matters)."""
    found: dict[str, set[str]] = {}
    for conn in venue.connections:
        if conn.number > after:
            found.setdefault(conn.kind, set()).update(a["channel"] for a in conn.subscriptions if conn.logged_in or conn.kind == "public" or a["channel"].startswith("candle"))
    return found


def unique_ids(ledger: dict) -> None:
    """No order reached the venue twice."""
    ids = [o["clOrdId"] for o in ledger["orders"] if o["clOrdId"]] + [a["algoClOrdId"] for a in ledger["algo_orders"]]
    assert [i for i, n in Counter(ids).items() if n > 1] == []


def node_orders_match_venue(run) -> pd.DataFrame:
    """The node has exactly the orders the venue has: placed orders + algo orders + the OCO's second leg."""
    orders = run.csv("orders.csv")
    placed = [o for o in run.ledger["orders"] if not o["algoId"]]  # not the children of triggered algo orders
    ocos = [a for a in run.ledger["algo_orders"] if a["ordType"] == "oco"]
    assert len(orders) == len(placed) + len(run.ledger["algo_orders"]) + len(ocos), (orders[["client_order_id", "type", "status"]], run.ledger["algo_orders"])
    return orders


def test_dropped_websockets_while_holding_reconnect_resubscribe_and_the_trade_completes(tmp_path):
    venue = start_venue()
    log = tmp_path / "live.log"
    proc = start_live(write_config(tmp_path, venue), log)
    try:
        assert wait_for(venue, lambda v: holding(v, 30), 60, proc), log.read_text()[-3000:]
        before = venue.call(lambda: venue.venue._conn_numbers)  # noqa: SLF001
        for kind in ("private", "business", "public"):
            venue.call_async(venue.venue.inject(Fault("socket", "drop", kind)))
        wanted = {"private": {"orders", "account"}, "business": {"orders-algo", "algo-advance", "candle1m"}}
        resubscribed = wait_for(venue, lambda v: all(wanted[k] <= channels(v, before).get(k, set()) for k in wanted), 20, proc)
        reconnected_at = venue.call(lambda: venue.venue.path.position)
        wait_for(venue, lambda v: v.finished.is_set(), 90, proc)
        time.sleep(1.0)
        requests = venue.call(lambda: list(venue.venue.requests))
        run = finish(venue, proc, log)
    finally:
        venue.stop()
    assert resubscribed, [r for r in requests if r.get("ws")]
    assert reconnected_at < TARGET_MINUTE  # back before anything traded
    new = [r for r in requests if r.get("ws") and r.get("conn", 0) > before]
    assert {r["ws"] for r in new if r["op"] == "connect"} == {"private", "business", "public"}
    assert Counter(r["ws"] for r in new if r["op"] == "login") == {"private": 1, "business": 1}  # exec private + exec business logged in again
    assert run.returncode == 0, run.output[-4000:]
    unique_ids(run.ledger)
    orders = node_orders_match_venue(run)
    assert set(orders["status"]) <= {"FILLED", "CANCELED"}
    trailing = orders[orders["type"] == "TRAILING_STOP_MARKET"]
    assert trailing["status"].tolist() == ["FILLED"]  # the trailing exit fired after the reconnect and the node has its fill
    assert assert_books_match(run)["fills"] == 3
    assert assert_no_exit_opened_a_position(run) == 2
    assert run.ledger["positions"] == []


def refused_across_the_partial_target(tmp_path: Path, venue_check_s: float) -> tuple:
    """Drop the private and business sockets just before the partial target and refuse reconnects while the venue fills it."""
    venue = start_venue()
    log = tmp_path / "live.log"
    proc = start_live(with_node(write_config(tmp_path, venue), venue_check_s=venue_check_s), log)
    try:
        assert wait_for(venue, lambda v: holding(v, TARGET_MINUTE - 6), 60, proc), log.read_text()[-3000:]
        venue.call(lambda: setattr(venue.venue, "paused", True))
        for kind in ("private", "business"):
            venue.call_async(venue.venue.inject(Fault("socket", "refuse", kind, delay_s=3.0)))
        while not venue.call(lambda: any(a.ord_type == "trigger" and not a.is_open for a in venue.venue.engine.algos.values())):
            assert venue.call_async(venue.venue.step())  # the venue trades on: the target fires, its fill is pushed to nobody
        target_fill = venue.call(lambda: venue.venue.engine.ledger.fills[-1].trade_id)
        reconnected = wait_for(venue, lambda v: any(c.kind == "private" and c.logged_in and c.wants("orders") for c in v.connections), 30, proc)
        venue.call(lambda: setattr(venue.venue, "paused", False))
        wait_for(venue, lambda v: v.finished.is_set(), 90, proc)
        time.sleep(max(2.0, 3 * venue_check_s))  # VenueSync checks at least twice
        requests = venue.call(lambda: list(venue.venue.requests))
        run = finish(venue, proc, log)
    finally:
        venue.stop()
    assert reconnected
    assert [r for r in requests if r.get("op") == "connect" and r.get("status") == 503]  # reconnects were refused for a while
    return run, target_fill


def test_a_fill_pushed_while_the_private_socket_is_down_is_recovered_from_the_venue(tmp_path):
    run, target_fill = refused_across_the_partial_target(tmp_path, venue_check_s=1.0)
    assert run.returncode == 0, run.output[-4000:]
    # the node never got the push: VenueSync saw the venue's position differ, found the fill and applied it
    assert f"missed fill {target_fill} of " in run.output
    events = run.csv("guard_events.csv")
    assert "venue_sync" in set(events["guard"])
    unique_ids(run.ledger)
    orders = node_orders_match_venue(run)
    assert set(orders["status"]) <= {"FILLED", "CANCELED"}
    assert (orders[orders["type"] == "MARKET_IF_TOUCHED"]["status"] == "FILLED").sum() == 1  # the partial target, filled once
    assert orders[orders["type"] == "TRAILING_STOP_MARKET"]["status"].tolist() == ["FILLED"]
    fills = run.csv("fills.csv")
    assert fills["trade_id"].astype(str).is_unique and target_fill in set(fills["trade_id"].astype(str))
    assert assert_books_match(run)["fills"] == 3  # the recovered fill has the venue's trade id, price, size and fee
    assert assert_no_exit_opened_a_position(run) == 2
    assert run.ledger["positions"] == []


def test_without_venue_sync_nautilus_loses_a_fill_pushed_while_disconnected(tmp_path):
    """What nautilus 1.231 does alone (the reason for VenueSync): the fill is lost and the node's books drift."""
    run, target_fill = refused_across_the_partial_target(tmp_path, venue_check_s=0)
    fills = run.csv("fills.csv")
    assert target_fill not in set(fills["trade_id"].astype(str))  # never reached the node
    target = run.csv("orders.csv").query("type == 'MARKET_IF_TOUCHED' and quantity < 10")
    assert target["filled_qty"].tolist() == [0.0]  # the node still thinks the partial target is working
    # the node's Ctrl-C flatten closed the half it believed open: with no reduceOnly on OKX SWAP WebSocket orders,
    # the venue opened a short with it
    assert [p["pos"] for p in run.ledger["positions"]] == [f"-{target['quantity'].iloc[0]}"]


def kill_and_restart(tmp_path: Path, redis_server, trader_id: str, kill_from_minute: int, fill_while_down: bool) -> tuple:
    """kill -9 the node while it holds the position with its exits at the venue (paused, or trading the partial target
    while the node is down), restart it on the same Redis and trader id with no scripted entry, resume, run to the end."""
    redis_server.flush()
    venue = start_venue()
    first_log, second_log = tmp_path / "live-1.log", tmp_path / "live-2.log"
    proc = start_live(write_config(tmp_path, venue, trader_id=trader_id, redis_port=redis_server.port), first_log)
    try:
        assert wait_for(venue, lambda v: holding(v, kill_from_minute), 60, proc), first_log.read_text()[-3000:]
        venue.call(lambda: setattr(venue.venue, "paused", True))
        at_venue = venue.call(lambda: sorted((a.algo_cl_ord_id, a.ord_type) for a in venue.venue.engine.open_algos()))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.returncode == -signal.SIGKILL and "run folder:" not in first_log.read_text()
        while fill_while_down and not venue.call(lambda: any(a.ord_type == "trigger" and not a.is_open for a in venue.venue.engine.algos.values())):
            assert venue.call_async(venue.venue.step())
        before = venue.call(lambda: venue.venue._conn_numbers)  # noqa: SLF001
        killed_at = venue.call(lambda: len(venue.venue.requests))
        # the same trader id, no scripted entry (the restarted strategy counts bars from 1 again)
        proc = start_live(write_config(tmp_path, venue, trader_id=trader_id, redis_port=redis_server.port, entries=[]), second_log)
        assert wait_for(venue, lambda v: any(c.number > before and c.wants("candle1m", "BTC-USDT-SWAP") for c in v.connections), 60, proc), second_log.read_text()[-3000:]
        time.sleep(1.0)
        venue.call(lambda: setattr(venue.venue, "paused", False))
        wait_for(venue, lambda v: v.finished.is_set(), 90, proc)
        time.sleep(1.0)
        requests = venue.call(lambda: list(venue.venue.requests))
        run = finish(venue, proc, second_log)
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert "Cached 5 orders from database" in run.output and "Cached 1 position from database" in run.output
    assert "Reconciliation for OKX succeeded" in run.output
    # nothing placed again: the venue has the one entry and the three algo orders of the first session
    assert [a for a in run.ledger["algo_orders"] if (a["algoClOrdId"], a["ordType"]) not in at_venue] == []
    assert [o["clOrdId"] for o in run.ledger["orders"] if not o["algoId"]] == [run.ledger["fills"][0]["clOrdId"]]
    assert not [r for r in requests[killed_at:] if r.get("path") in ("/api/v5/trade/order", "/api/v5/trade/order-algo") or r.get("op") == "order"]
    unique_ids(run.ledger)
    orders = node_orders_match_venue(run)
    assert set(orders["status"]) <= {"FILLED", "CANCELED"}
    assert orders[orders["type"] == "TRAILING_STOP_MARKET"]["status"].tolist() == ["FILLED"]  # the trailing exit closed the trade
    assert (orders[orders["type"] == "MARKET_IF_TOUCHED"]["status"] == "FILLED").sum() == 1  # the partial target, once
    # the stop was resized to the half left and canceled once flat, at the venue too
    oco = next(a for a in run.ledger["algo_orders"] if a["ordType"] == "oco")
    assert oco["state"] == "canceled" and oco["sz"] == "8.32"
    # the books over both sessions: the second run folder holds the first session's orders and fills from Redis
    assert assert_books_match(run)["fills"] == 3
    assert assert_no_exit_opened_a_position(run) == 2
    assert run.ledger["positions"] == []
    assert "ExecEngine: Error on applying" not in run.output
    return run, run.csv("guard_events.csv").query("guard == 'restart'")["detail"].tolist()


def test_killed_while_holding_and_restarted_on_redis_the_node_adopts_the_trade_and_finishes_it(tmp_path, redis_server):
    run, restart = kill_and_restart(tmp_path, redis_server, "RECOVER-001", kill_from_minute=40, fill_while_down=False)
    # the restarted strategy adopted the position with its working stop, target and trailing exit and its saved plan
    assert restart == ["adopted LONG 16.63 with stop, trailing exit, targets; exit plan restored"]
    assert "restored the OKX algo ids of 4 working order(s)" in run.output  # stop + OCO target leg, partial target, trailing


def test_a_partial_target_filled_while_the_node_was_down_is_reconciled_at_restart(tmp_path, redis_server):
    run, restart = kill_and_restart(tmp_path, redis_server, "RECOVER-002", kill_from_minute=TARGET_MINUTE - 6, fill_while_down=True)
    # the start reconciliation applied the target's fill (the venue's trade id and fee) to the target order itself:
    # the strategy adopted the half left, not the whole position, and no EXTERNAL position was made up
    assert restart == ["adopted LONG 8.32 with stop, trailing exit, targets; exit plan restored"]
    assert "restored the OKX algo ids of 3 working order(s)" in run.output
    positions = run.csv("positions.csv")
    assert positions["strategy_id"].tolist() == ["ScriptedEntries-000"]
    assert "RECONCILIATION" not in run.csv("orders.csv")["tags"].fillna("").str.cat()
