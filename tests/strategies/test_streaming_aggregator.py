"""The strategies' streaming aggregation gives exactly `resample_candles`' candles, in replay_levels' order, on real data."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, StreamingAggregator, resample_candles, timeframe_minutes

TIMEFRAMES = ("5m", "15m", "1h")


def stream(frame: pd.DataFrame) -> list[tuple[str, int, tuple, str]]:
    agg = StreamingAggregator(TIMEFRAMES)
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
