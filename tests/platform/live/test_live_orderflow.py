"""`ravebear live --arm` with the OrderFlowActor against the local venue playing a recorded session: book data end to end.

The venue plays the Binance USD-M capture re-priced to the candles (`--session`); the node subscribes the actor to
OKX `trades` and `books` through nautilus's OKX data client; a probe actor writes every published snapshot. Each
snapshot's OBI, spread and depth must equal the features of the book rebuilt here from the exact `books` rows the
venue sent (its snapshot to the node, then every update), also after the venue drops the public socket mid-run (the node
reconnects and gets a fresh snapshot), and the order/fill cycle must still book to the cent.
"""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time
from bisect import bisect_left
from decimal import Decimal

import yaml

from ravebear.simulators.okx_venue.faults import Fault
from ravebear.simulators.okx_venue.runner import VenueSettings, VenueThread
from ravebear.simulators.okx_venue.server import PlayerSettings
from ravebear.simulators.okx_venue.session_player import SessionSettings
from tests.platform.live.checks import assert_books_match
from tests.platform.live.harness import (
    CREDS,
    INSTRUMENT,
    WINDOW_START,
    run_session,
    write_config,
)
from tests.shared_data import SHARED
from tests.simulators.okx_venue.book_messages import ClientBook

USDM = SHARED / "trades_book" / "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"
LEVELS, HALF_BPS, DEPTH_BPS = 10, 5.0, 10.0  # the actor's book settings in the run file below
MAX_DELIVERY_S = 1.0  # a books row sent this long before an interval's end has reached the actor


def features(book: ClientBook) -> dict[str, float]:
    """OBI (plain and distance-weighted, top LEVELS), spread in bps and depth within DEPTH_BPS of mid, written out again here."""
    bids = [(float(p), float(s)) for p, s in book.sorted_side(True)]
    asks = [(float(p), float(s)) for p, s in book.sorted_side(False)]
    mid = (bids[0][0] + asks[0][0]) / 2
    top_b, top_a = bids[:LEVELS], asks[:LEVELS]
    b, a = sum(s for _, s in top_b), sum(s for _, s in top_a)
    wb = sum(s * 0.5 ** ((mid - p) / mid * 1e4 / HALF_BPS) for p, s in top_b)
    wa = sum(s * 0.5 ** ((p - mid) / mid * 1e4 / HALF_BPS) for p, s in top_a)
    return {
        "obi": (b - a) / (b + a), "weighted_obi": (wb - wa) / (wb + wa), "spread_bps": (asks[0][0] - bids[0][0]) / mid * 1e4,
        "bid_depth": sum(s for p, s in bids if p >= mid * (1 - DEPTH_BPS / 1e4)),
        "ask_depth": sum(s for p, s in asks if p <= mid * (1 + DEPTH_BPS / 1e4)),
    }  # fmt: skip


def book_states(sent: list[tuple[str, int, dict]]) -> tuple[list[int], list[dict[str, float]]]:
    """Send time and features of the book after each `books` row the venue sent to the node."""
    book, times, states = ClientBook(), [], []
    for channel, sent_ns, row in sent:
        if channel in ("books-snapshot", "books"):
            book.apply("snapshot" if channel == "books-snapshot" else "update", row)
            assert row["checksum"] == book.checksum()
            times.append(sent_ns)
            states.append(features(book))
    return times, states


def same(snapshot: dict, state: dict[str, float]) -> bool:
    return all(math.isclose(snapshot[k], v, rel_tol=1e-9, abs_tol=1e-9) for k, v in state.items())


def test_a_live_node_computes_order_flow_from_the_venues_book_and_still_trades(tmp_path):
    start = int(WINDOW_START.timestamp() * 1000)
    settings = VenueSettings(
        inst_ids=(INSTRUMENT,), start_ms=start, end_ms=start + 70 * 60_000, creds=CREDS,
        player=PlayerSettings(step_s=0.25, settle_s=0.15, warmup_s=1.5), session=SessionSettings(USDM, INSTRUMENT, depth=50, record=True),
    )  # fmt: skip
    venue = VenueThread(settings).start()
    snapshots_file = tmp_path / "snapshots.jsonl"
    config = write_config(tmp_path, venue)
    raw = yaml.safe_load(config.read_text())
    instrument = f"{INSTRUMENT}.OKX"
    raw["data"] += [{"instrument_id": instrument, "kind": "trades"}, {"instrument_id": instrument, "kind": "book"}]
    raw["actors"] = [
        {"actor_path": "ravebear.strategies.orderflow_actor:OrderFlowActor",
         "config": {"instrument_ids": [instrument], "interval_s": 1.0, "book": {"levels": LEVELS, "half_distance_bps": HALF_BPS, "depth_bps": DEPTH_BPS}}},
        {"actor_path": "tests.platform.live.orderflow_probe:SnapshotLog", "config": {"instrument_id": instrument, "path": str(snapshots_file)}},
    ]  # fmt: skip
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    dropped: list[int] = []

    def drop_public_socket_later(_: subprocess.Popen) -> None:
        def later() -> None:
            deadline = time.monotonic() + 60
            while not venue.call(lambda: venue.venue.started.is_set()) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(8.0)
            dropped.append(time.time_ns())
            venue.call_async(venue.venue.inject(Fault.parse({"target": "socket", "kind": "drop", "match": "public"})))

        threading.Thread(target=later, daemon=True).start()

    try:
        run = run_session(tmp_path, venue, config, during=drop_public_socket_later)
        sent = venue.call(lambda: list(venue.venue.session.sent))
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert "served in backtests only" not in run.output
    figures = assert_books_match(run)  # the order/fill cycle still books to the cent
    assert figures["fills"] >= 2

    times, states = book_states(sent)
    resubscribed = [ns for channel, ns, _ in sent if channel == "books-snapshot"]
    assert len(dropped) == 1 and len(resubscribed) == 2 and resubscribed[1] > dropped[0]  # the node came back and resubscribed
    snapshots = [json.loads(line) for line in snapshots_file.read_text().splitlines()]
    # an interval ending while the node was away holds a book without the updates sent meanwhile: not comparable
    with_book = [s for s in snapshots if s["has_book"] and not dropped[0] <= s["ts_event"] <= resubscribed[1] + 200_000_000]
    assert len(with_book) >= 10, len(snapshots)
    assert sum(1 for s in with_book if s["ts_event"] > resubscribed[1]) >= 5  # after the fresh snapshot too
    for snap in with_book:
        # the actor's book at the interval's end: after every books row it received before then. Rows sent within
        # MAX_DELIVERY_S before the end may still have been on their way (a loaded machine stalls the node ~0.1 s)
        k = bisect_left(times, snap["ts_event"]) - 1
        surely = bisect_left(times, snap["ts_event"] - MAX_DELIVERY_S * 1e9) - 1  # sent early enough to have arrived
        assert k >= 0
        assert any(same(snap, states[i]) for i in range(max(surely, 0), k + 1)), (snap, states[k])
    assert len({round(s["obi"], 9) for s in with_book}) > 3  # the book moved: the figures are not one repeated state
    assert sum(s["trades"] for s in snapshots) > 100  # the recorded trades reached the actor too
    recorded = {Decimal(row["px"]) for channel, _, row in sent if channel == "trades"}
    # Price.as_double of 65003.1 is 65003.100000000006 (nautilus's fixed point): compare on the 0.1 tick
    assert all(Decimal(f"{s['last_price']:.1f}") in recorded for s in snapshots if s["trades"])
