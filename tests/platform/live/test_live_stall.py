"""A live node whose OKX sockets stay open but go silent: RaveBear's feed watchdog halts new entries, says why, and resumes."""

from __future__ import annotations

import time
from decimal import Decimal

from ravebear.simulators.okx_venue.faults import Fault
from tests.platform.live.checks import assert_books_match, assert_no_exit_opened_a_position
from tests.platform.live.harness import run_session, start_venue, wait_for, write_config

WATCHDOG = {"feed_watchdog": {"market_data_stall_s": 3.0, "order_update_stall_s": 3.0, "check_interval_s": 0.5}}


def test_silent_market_data_halts_entries_until_it_returns(tmp_path):
    venue = start_venue()
    stalled_minutes: list[int] = []

    def silence(proc) -> None:  # noqa: ANN001
        assert wait_for(venue, lambda v: v.path.position >= 8, 60, proc)
        for kind in ("public", "business"):  # trades and candles stop; the sockets stay open
            venue.call_async(venue.venue.inject(Fault("socket", "stall", kind)))
        stalled_minutes.append(venue.call(lambda: venue.venue.path.position))
        time.sleep(6.0)
        stalled_minutes.append(venue.call(lambda: venue.venue.path.position))
        for kind in ("public", "business"):
            venue.call_async(venue.venue.inject(Fault("socket", "resume", kind)))

    try:
        run = run_session(tmp_path, venue, write_config(tmp_path, venue, strategy=WATCHDOG), during=silence)
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert stalled_minutes[1] - stalled_minutes[0] >= 8  # the venue kept trading through the silence
    guards = run.csv("guard_events.csv")
    stalls = guards[guards["guard"] == "feed_stalled"]
    assert list(stalls["action"]) == ["blocked", "resumed"], stalls
    assert stalls["detail"].iloc[0].startswith("no market data for BTC-USDT-SWAP.OKX for ")
    assert "(limit 3 s): new entries halted" in stalls["detail"].iloc[0]
    assert stalls["detail"].iloc[1].startswith("feed healthy again after ")
    assert "no market data for BTC-USDT-SWAP.OKX" in run.output  # the alert is in the node's log
    # entries resumed: the scripted entry (its 24th bar arrives after the silence) traded the whole cycle
    assert assert_books_match(run)["fills"] == 3
    assert assert_no_exit_opened_a_position(run) == 2


def test_silent_order_updates_halt_entries_and_the_node_catches_up(tmp_path):
    venue = start_venue()

    def silence_orders(proc) -> None:  # noqa: ANN001
        assert wait_for(venue, lambda v: v.path.position >= 20, 60, proc)
        venue.call_async(venue.venue.inject(Fault("socket", "stall", "private")))  # order and account pushes stop
        assert wait_for(venue, lambda v: bool(v.engine.ledger.fills), 60, proc)  # the entry filled at the venue, unseen
        time.sleep(6.0)
        venue.call_async(venue.venue.inject(Fault("socket", "resume", "private")))

    try:
        run = run_session(tmp_path, venue, write_config(tmp_path, venue, strategy=WATCHDOG), during=silence_orders)
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    guards = run.csv("guard_events.csv")
    stalls = guards[guards["guard"] == "feed_stalled"]
    assert len(stalls) >= 2 and stalls["action"].iloc[0] == "blocked" and stalls["action"].iloc[-1] == "resumed", stalls
    assert "no venue answer for order" in stalls["detail"].iloc[0]
    assert assert_no_exit_opened_a_position(run) == 2
    # nautilus's in-flight check found the entry filled (REST) while its push was lost: it inferred the fill without
    # the venue's trade id and fee (1.231), so the node's PnL is higher by exactly that fee; the balance is the venue's
    books = assert_books_match(run)
    entry_fee = -next(Decimal(f["fee"]) for f in run.ledger["fills"] if f["side"] == "buy")
    assert books["fills"] == 3 and books["unbooked_fees"] == entry_fee > 0
