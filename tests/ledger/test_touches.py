"""Level touches from the real level engine on the bundled candles, through touch_row into the ledger, with their
outcomes: what the node's ledger actor will do."""

from __future__ import annotations

import pytest
from nautilus_trader.model.identifiers import InstrumentId
from sqlmodel import Session, select

from ravebear.ledger.models import LevelTouch
from ravebear.ledger.outcomes import OutcomeSettings, OutcomeTracker
from ravebear.ledger.store import open_ledger
from ravebear.ledger.touches import touch_row
from ravebear.ledger.writer import LedgerWriter
from ravebear.strategies.level_actor import to_data
from ravebear.strategies.levels.engine import LevelEngine
from ravebear.strategies.levels.model import EventKind

BTC = "BTC-USDT-SWAP.OKX"


def test_touches_of_the_real_level_engine_are_written_with_their_outcomes(ledger_url, okx_btc, tmp_path):
    engine = LevelEngine()
    instrument = InstrumentId.from_str(BTC)
    writer = LedgerWriter(open_ledger(ledger_url), tmp_path / "spill.jsonl")
    tracker = OutcomeTracker(OutcomeSettings(break_bps=5, break_window_min=30, excursion_window_min=30))
    written, updates = {}, []
    frame = okx_btc.head(4000)
    closes = set((frame["ts"].astype("int64") + 60_000) * 1_000_000)
    for bar in frame.itertuples(index=False):
        ts = (int(bar.ts) + 60_000) * 1_000_000  # the candle's close
        for update in tracker.on_bar(BTC, ts, bar.high, bar.low, bar.close):
            writer.update_outcome(update.touch_id, **update.values())
            updates.append(update)
        for event in engine.on_candle("1m", bar.open, bar.high, bar.low, bar.close, bar.volume, ts):
            if event.kind is not EventKind.TOUCHED:
                continue
            row = touch_row(to_data(instrument, event), "run-1", bar.close, funding_rate=0.0001)
            touch_id = writer.add(LevelTouch, **row)
            tracker.track(touch_id, BTC, row["ts_event_ns"], row["touch_price"], row["level_price"], row["direction"])
            written[touch_id] = (event, row)
    for update in tracker.finish(ts):
        writer.update_outcome(update.touch_id, **update.values())
    writer.close()

    assert len(written) > 50
    with Session(writer.engine) as session:
        stored = {t.id: t for t in session.exec(select(LevelTouch)).all()}
    assert set(stored) == set(written)
    for touch_id, (event, row) in written.items():
        touch, level = stored[touch_id], event.level
        assert touch.direction == (1 if touch.side == "support" else -1)
        assert touch.level_price == (level.low if touch.direction == 1 else level.high)
        assert touch.age_min == pytest.approx((event.ts - level.created_ts) / 60e9)
        assert touch.level_id.endswith(f":{level.created_ts}") and touch.kind == level.kind.value and touch.score == event.score
        assert touch.funding_rate == 0.0001
        next_close = row["ts_event_ns"] + 60_000_000_000  # 1-minute bars: only this bar closes in (t, t + 1 min]
        assert (touch.markout_1m_bps is None) == (next_close not in closes)
    assert {t.outcome for t in stored.values()} >= {"held", "broken"}  # (None: the last touches, still open at the end)
    assert {t.side for t in stored.values()} == {"support", "resistance"}


def test_only_a_touch_becomes_a_touch_row():
    from ravebear.catalog.level_data import LevelEventData

    with pytest.raises(ValueError, match="^not a touch: a 'created' level event$"):
        touch_row(LevelEventData(event="created", ts_event=1, ts_init=1), "r", 1.0)
