"""Checks over a backtest run folder that every strategy's run must pass (used by several test modules)."""

from decimal import Decimal
from pathlib import Path

import pandas as pd

STOP_TYPES = ("STOP_MARKET", "STOP_LIMIT", "TRAILING_STOP_MARKET")


def money(text) -> Decimal:
    return Decimal(str(text).split()[0])


def ns(value) -> int:
    return pd.Timestamp(value).value


def check_never_without_a_stop(folder: Path) -> int:
    """Every position had a working protective stop from its first fill to its close; return positions checked.

    From the run's own orders: the opening order's own order list (its bracket) holds a stop on
    the other side, submitted no later than the position's first fill, and a stop (that one or a
    later one, e.g. the trailing exit) is working at every moment until the position closed.
    """
    orders = pd.read_csv(folder / "orders.csv")
    positions = pd.read_csv(folder / "positions.csv")
    positions = positions[positions["ts_closed"].notna()]
    stops = orders[orders["type"].isin(STOP_TYPES)].copy()
    stops["start"] = stops["ts_init"].map(ns)
    stops["end"] = stops["ts_last"].map(ns)
    for _, position in positions.iterrows():
        opened, closed = ns(position["ts_opened"]), ns(position["ts_closed"])
        exit_side = "SELL" if position["entry"] == "BUY" else "BUY"
        mine = stops[(stops["instrument_id"] == position["instrument_id"]) & (stops["side"] == exit_side) & (stops["strategy_id"] == position["strategy_id"])]
        opening = orders[orders["client_order_id"] == position["opening_order_id"]]
        bracket = opening["order_list_id"].iloc[0] if len(opening) else None
        covering = mine[(mine["order_list_id"] == bracket) & (mine["start"] <= opened) & (mine["end"] >= opened)]
        assert not covering.empty, f"{position['position_id']} opened {position['ts_opened']} without a working stop"
        # walk forward: the union of working stops must reach the close without a hole
        reach = covering["end"].max()
        while reach < closed:
            later = mine[(mine["start"] <= reach) & (mine["end"] > reach)]
            assert not later.empty, f"{position['position_id']} lost its stop at {pd.Timestamp(reach)} before closing at {position['ts_closed']}"
            reach = later["end"].max()
    return len(positions)


def check_no_exit_flipped(folder: Path) -> int:
    """Walk the fills per instrument: the net position never changes sign in one fill; return fills walked."""
    fills = pd.read_csv(folder / "fills.csv").sort_values("ts_event", kind="stable")
    walked = 0
    for _, group in fills.groupby("instrument_id"):
        net = Decimal(0)
        for _, fill in group.iterrows():
            qty = Decimal(str(fill["last_qty"])) * (1 if fill["order_side"] == "BUY" else -1)
            after = net + qty
            assert net == 0 or after == 0 or (after > 0) == (net > 0), f"{fill['client_order_id']} flipped {net} -> {after}"
            net = after
            walked += 1
    return walked
