"""Session buckets, session VWAP and anchored VWAP: hand-built answers and a pandas recount of the real captures."""

import numpy as np
import pytest

from ravebear.strategies.microstructure.sessions import SessionClock, SessionHours
from ravebear.strategies.microstructure.types import Trade
from ravebear.strategies.microstructure.vwap import AnchoredVwap, SessionVwap
from ravebear.time_units import NS_PER_DAY, NS_PER_HOUR
from tests.strategies.microstructure.real_data import session_labels, trade_objects, trades

DAY0 = 1_723_075_200 * 1_000_000_000  # 2024-08-08 00:00 UTC


def test_default_buckets_and_off_hours_cover_the_day():
    clock = SessionClock()
    names = [clock.at(DAY0 + h * NS_PER_HOUR).name for h in (0, 7, 8, 12, 13, 20, 21, 23)]
    assert names == ["asia", "asia", "london", "london", "new_york", "new_york", "off", "off"]
    off = clock.at(DAY0 + 22 * NS_PER_HOUR)
    assert (off.start_ns, off.end_ns) == (DAY0 + 21 * NS_PER_HOUR, DAY0 + NS_PER_DAY)  # new_york close -> next asia open


def test_a_bucket_may_wrap_midnight_and_overlaps_or_bad_hours_are_refused():
    clock = SessionClock((SessionHours("asia", 22, 7), SessionHours("london", 7, 13)))
    night = clock.at(DAY0 + NS_PER_DAY + 2 * NS_PER_HOUR)
    assert night.name == "asia" and night.start_ns == DAY0 + 22 * NS_PER_HOUR
    assert clock.at(DAY0 + 15 * NS_PER_HOUR).name == "off"
    with pytest.raises(ValueError, match="sessions asia and london overlap"):
        SessionClock((SessionHours("asia", 0, 9), SessionHours("london", 8, 13)))
    with pytest.raises(ValueError, match="sessions.asia hours must be between 0 and 24 hours UTC, got 25"):
        SessionClock((SessionHours("asia", 0, 25),))


def test_vwap_hand_built():
    vwap = SessionVwap()
    vwap.update(Trade(DAY0 + 7 * NS_PER_HOUR, 100.0, 1.0, 1))
    vwap.update(Trade(DAY0 + 7 * NS_PER_HOUR + 1, 110.0, 3.0, -1))
    assert (vwap.session_name, vwap.value) == ("asia", 107.5)  # (100 + 330) / 4
    vwap.update(Trade(DAY0 + 8 * NS_PER_HOUR, 90.0, 2.0, 1))
    assert (vwap.session_name, vwap.value) == ("london", 90.0)
    anchored = AnchoredVwap(DAY0 + 5)
    anchored.update(Trade(DAY0 + 4, 1_000.0, 9.0, 1))  # before the anchor: ignored
    assert anchored.value is None
    anchored.update(Trade(DAY0 + 5, 100.0, 1.0, 1))
    anchored.update(Trade(DAY0 + 6, 200.0, 1.0, 1))
    assert anchored.value == 150.0


@pytest.mark.parametrize("market", ["spot", "coinm"])
def test_session_and_anchored_vwap_over_real_trades_match_pandas(market):
    frame = trades(market)
    anchor = int(frame["ts_ns"].iloc[len(frame) // 3])  # e.g. a level created a third of the way in
    session, anchored = SessionVwap(), AnchoredVwap(anchor)
    out = np.empty((len(frame), 2))
    for i, trade in enumerate(trade_objects(frame)):
        session.update(trade)
        anchored.update(trade)
        out[i] = session.value, (np.nan if anchored.value is None else anchored.value)
    notional = frame["price"] * frame["size"]
    labels = session_labels(frame["ts_ns"].to_numpy())
    expected_session = notional.groupby(labels).cumsum() / frame["size"].groupby(labels).cumsum()
    after = frame["ts_ns"] >= anchor
    expected_anchored = (notional.where(after, 0).cumsum() / frame["size"].where(after, 0).cumsum()).where(after)
    assert labels.nunique() == 2  # off-hours, then asia after midnight UTC
    assert np.allclose(out[:, 0], expected_session, rtol=1e-12)
    assert np.allclose(out[:, 1], expected_anchored, rtol=1e-12, equal_nan=True)
    assert np.isnan(out[: len(frame) // 3, 1]).all()
