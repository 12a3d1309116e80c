"""MinuteCloses on real OKX BTC minutes with a real gap: a range touch is priced at the close of the latest minute
closing at or before it, whether its bar comes after the touch (the LevelActor saw it first), before it, or never."""

from __future__ import annotations

from ravebear.platform.ledger_feed.touches import MinuteCloses
from ravebear.time_units import NS_PER_MINUTE

BTC = "BTC-USDT-SWAP.OKX"


def test_a_range_touch_gets_the_close_of_its_minute_or_of_the_last_one_before_it(okx_btc):
    bars = [((int(ts) + 60_000) * 1_000_000, float(close)) for ts, close in zip(okx_btc["ts"], okx_btc["close"], strict=True)][:700]
    gap = next(i for i in range(1, len(bars)) if bars[i][0] - bars[i - 1][0] > NS_PER_MINUTE)  # a real gap in the sample
    closes = MinuteCloses()
    priced = {}
    for i, (ts, close) in enumerate(bars):
        if i in (5, 300):  # published while this minute's bar is handed out: before the ledger sees it
            assert closes.at(BTC, ts) == (False, None)
            closes.wait(BTC, ts, f"at {i}")
        if i == gap:  # a higher candle that closed inside the gap, published with the first minute after it
            closes.wait(BTC, bars[gap - 1][0] + NS_PER_MINUTE, "in the gap")
        priced.update(closes.on_bar(BTC, ts, close))
        if i == 10:  # published after its minute's bar: known at once
            assert closes.at(BTC, ts) == (True, close)
            assert closes.at(BTC, ts - 1) == (True, bars[9][1])  # between minutes 9 and 10: minute 9's close
    closes.wait(BTC, bars[-1][0] + NS_PER_MINUTE, "after the last bar")
    priced.update(closes.leftover())
    assert priced == {"at 5": bars[5][1], "at 300": bars[300][1], "in the gap": bars[gap - 1][1], "after the last bar": bars[-1][1]}
    assert closes.at("ETH-USDT-SWAP.OKX", bars[0][0]) == (False, None)  # another instrument has its own minutes
