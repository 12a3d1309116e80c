"""The strategies' streaming aggregation gives exactly `resample_candles`' candles, in replay_levels' order, on real data."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, StreamingAggregator, resample_candles, timeframe_minutes

TIMEFRAMES = ("5m", "15m", "1h")


def stream(frame: pd.DataFrame, timeframes: tuple[str, ...] = TIMEFRAMES) -> list[tuple[str, int, tuple, str]]:
    agg = StreamingAggregator(timeframes)
    out = []
    for row in frame.itertuples(index=False):
        open_ns = int(row.ts) * 1_000_000
        out += [(tf, c.ts, (c.open, c.high, c.low, c.close, c.volume), "before") for tf, c in agg.before(open_ns)]
        out += [(tf, c.ts, (c.open, c.high, c.low, c.close, c.volume), "after") for tf, c in agg.add(open_ns, row.open, row.high, row.low, row.close, row.volume)]
    return out


@pytest.mark.parametrize("rows", [3_000, 26_000])
def test_streamed_candles_equal_the_resampled_ones(okx_btc, rows):
    frame = okx_btc.iloc[:rows]  # the real OKX series, with its gaps
    got = stream(frame)
    for tf in TIMEFRAMES:
        minutes = timeframe_minutes(tf)
        expected = resample_candles(frame, minutes)
        mine = [(ts, values) for t, ts, values, _ in got if t == tf]
        assert [ts for ts, _ in mine] == ((expected["ts"] + minutes * ONE_MINUTE_MS) * 1_000_000).tolist()
        np.testing.assert_array_equal(np.array([v for _, v in mine]), expected[["open", "high", "low", "close", "volume"]].to_numpy())
    # candles closing in a gap come before the next minute, the others right after the minute that closes them
    assert {when for *_, when in got} == {"before", "after"}
    gap_closed = [ts for _, ts, _, when in got if when == "before"]
    assert len(gap_closed) > 0


def test_the_candles_of_a_nodes_bars_are_equal_to_the_bit(tmp_path, okx_btc):
    """On the bars as a node loads them from the catalog (volumes in contracts: 450.05, 6082.42, ...), every field of every
    candle, volume included, is the same double: the minutes' volumes added in order and rounded with Python's `round`,
    as the aggregator does (pandas' sum with numpy's round gave another last bit on 4 of the 1h and 28 of the 4h volumes)."""
    from ravebear.platform.nodes.level_replay import bars_frame
    from tests.strategies.shipped_runs import btc_catalog

    timeframes = ("5m", "15m", "30m", "1h", "4h")
    bars = btc_catalog(tmp_path, okx_btc, len(okx_btc)).bars("BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL")
    frame = bars_frame(bars)  # what research's replay reads in a backtest (the feed is handed the same doubles)
    assert frame["volume"].tolist() == [bar.volume.as_double() for bar in bars]
    got = stream(frame, timeframes)
    for tf in timeframes:
        minutes = timeframe_minutes(tf)
        expected = resample_candles(frame, minutes)
        mine = [(ts, values) for t, ts, values, _ in got if t == tf]
        assert len(mine) == len(expected) > 90
        assert [ts for ts, _ in mine] == ((expected["ts"] + minutes * ONE_MINUTE_MS) * 1_000_000).tolist()
        # compared as Python floats with ==, not to a tolerance
        assert [values for _, values in mine] == list(expected[["open", "high", "low", "close", "volume"]].itertuples(index=False, name=None))
