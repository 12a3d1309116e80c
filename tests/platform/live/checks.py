"""Checks every live session against the venue must pass: the node's books equal the venue's, and no exit opened a position."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd

from tests.run_checks import check_no_exit_flipped, money
from tests.platform.live.harness import LiveRun


def order_tags(run: LiveRun) -> dict[str, str]:
    """Client order id -> the node's tags for it."""
    orders = run.csv("orders.csv")
    return dict(zip(orders["client_order_id"], orders["tags"].fillna(""), strict=True))


def venue_client_id(ledger: dict, ord_id: str) -> str:
    """The nautilus client order id behind a venue order: the algo's client id for a triggered child, else clOrdId."""
    order = next(o for o in ledger["orders"] if o["ordId"] == ord_id)
    return order["algoClOrdId"] or order["clOrdId"]


def assert_books_match(run: LiveRun, *sessions: LiveRun) -> dict:
    """Every venue fill is a node fill with the same price, size and fee; balance and PnL agree to the cent.

    `sessions` are earlier runs of the same account (a restart): their fills count too. A fill the node
    inferred while reconciling (nautilus builds it from an order status: its own trade id and no fee) is
    matched to the venue's by venue order id, price and size; the fees it could not book are returned as
    `unbooked_fees`, and the node's PnL must differ from the venue's by exactly that.
    """
    runs = [*sessions, run]
    node = pd.concat([r.csv("fills.csv") for r in runs], ignore_index=True)
    node["trade_id"] = node["trade_id"].astype(str)
    node["venue_order_id"] = node["venue_order_id"].astype(str)
    venue_fills = run.ledger["fills"]
    assert len(node) == len(venue_fills), (list(node["trade_id"]), [f["tradeId"] for f in venue_fills])
    unbooked = Decimal(0)
    for fill in venue_fills:
        mine = node[node["trade_id"] == fill["tradeId"]]
        if mine.empty:  # inferred by reconciliation
            mine = node[(node["venue_order_id"] == fill["ordId"]) & node["reconciliation"].astype(bool)]
            assert len(mine) == 1, f"venue fill {fill['tradeId']} of order {fill['ordId']} is not in the node's books"
            assert money(mine["commission"].iloc[0]) == 0
            unbooked += -Decimal(fill["fee"])
        mine = mine.iloc[0]
        assert Decimal(str(mine["last_qty"])) == Decimal(fill["fillSz"]), fill
        assert Decimal(str(mine["last_px"])) == Decimal(fill["fillPx"]), fill
        if str(mine["trade_id"]) == fill["tradeId"]:
            assert abs(money(mine["commission"]) + Decimal(fill["fee"])) < Decimal("1e-8"), (mine["commission"], fill["fee"])
    summary = json.loads((run.run_dir / "summary.json").read_text())
    venue_cash = Decimal(run.ledger["cash"])
    assert abs(Decimal(str(summary["final_balance"])) - venue_cash) < Decimal("0.01"), (summary["final_balance"], venue_cash)
    node_pnl = sum((money(p) for r in runs for p in r.csv("positions.csv")["realized_pnl"]), Decimal(0))
    venue_pnl = Decimal(run.ledger["realized_pnl"]) + Decimal(run.ledger["fees"])
    assert abs(node_pnl - unbooked - venue_pnl) < Decimal("0.01"), (node_pnl, unbooked, venue_pnl)
    return {"fills": len(venue_fills), "cash": venue_cash, "pnl": venue_pnl, "unbooked_fees": unbooked}


def assert_no_exit_opened_a_position(run: LiveRun, *sessions: LiveRun) -> int:
    """At the venue and in the node: a fill of anything but an entry never moves the position through zero."""
    tags: dict[str, str] = {}
    for r in (*sessions, run):
        tags.update(order_tags(r))
        check_no_exit_flipped(r.run_dir)
    positions: dict[str, Decimal] = {}
    exits = 0
    for fill in run.ledger["fills"]:
        client_id = venue_client_id(run.ledger, fill["ordId"])
        before = positions.get(fill["instId"], Decimal(0))
        signed = Decimal(fill["fillSz"]) * (1 if fill["side"] == "buy" else -1)
        after = before + signed
        positions[fill["instId"]] = after
        if "risk=" in tags.get(client_id, ""):  # an entry
            continue
        exits += 1
        assert before != 0, f"exit {client_id} filled with no position: it opened {after}"
        assert after == 0 or (after > 0) == (before > 0), f"exit {client_id} flipped the position {before} -> {after}"
    return exits
