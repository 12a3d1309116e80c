"""`ravebear live --arm` with the SwarmActor against the local OKX venue (real OKX candles of the bundled sample): the
actor publishes a SwarmSignal for each live 1-minute bar, equal to what a Swarm fed the same bars computes, and the
order/fill cycle still books to the cent."""

from __future__ import annotations

import json
from itertools import pairwise

import yaml
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.candles import read_ohlcv_file
from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.state import REGIME_NAMES
from ravebear.strategies.swarm.swarm import Swarm
from ravebear.strategies.swarm_actor import swarm_config, swarm_signal
from tests.conftest import OKX_BTC
from tests.platform.live.checks import assert_books_match
from tests.platform.live.harness import (
    INSTRUMENT,
    WINDOW_MINUTES,
    WINDOW_START,
    run_session,
    start_venue,
    write_config,
)

SWARM = {"consensus": {}, "regime": {}}  # every bot, default thresholds


def test_a_live_node_publishes_a_swarm_signal_per_live_bar(tmp_path):
    venue = start_venue()
    log = tmp_path / "swarm.jsonl"
    config = write_config(tmp_path, venue)
    raw = yaml.safe_load(config.read_text())
    instrument = f"{INSTRUMENT}.OKX"
    raw["actors"] = [
        {"actor_path": "ravebear.strategies.swarm_actor:SwarmActor", "config": {"instrument_ids": [instrument], "swarm": SWARM}},
        {"actor_path": "tests.platform.live.swarm_probe:SwarmLog", "config": {"instrument_id": instrument, "path": str(log)}},
    ]
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    try:
        run = run_session(tmp_path, venue, config)
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert_books_match(run)

    rows = [json.loads(line) for line in log.read_text().splitlines()]
    bars = [row["bar"] for row in rows if "bar" in row]
    signals = [row["signal"] for row in rows if "signal" in row]
    assert len(bars) >= WINDOW_MINUTES * 0.8 and len(signals) == len(bars)
    assert [s["ts_event"] for s in signals] == [bar[0] for bar in bars]  # one per bar, stamped at its close
    # the bars are the window's real candles in order (the venue plays them on today's clock)
    sample = read_ohlcv_file(OKX_BTC)
    window = sample[sample["ts"] >= WINDOW_START.value // 1_000_000]["close"].tolist()[:WINDOW_MINUTES]
    first = min(range(len(window)), key=lambda i: abs(window[i] - bars[0][4]))
    assert [round(bar[4], 1) for bar in bars] == [round(c, 1) for c in window[first : first + len(bars)]]
    assert all(later[0] - earlier[0] == 60 * 10**9 for earlier, later in pairwise(bars))
    # a Swarm fed the same bars, one at a time, says the same at every bar
    swarm = Swarm(swarm_config(SWARM))
    for bar, signal in zip(bars, signals, strict=True):
        state = swarm.on_candle(Candle(*bar))
        expected = swarm_signal(InstrumentId.from_str(instrument), swarm.names, state)
        assert {k: getattr(expected, k) for k in signal} == signal
    assert sum(1 for s in signals if s["votes"]) >= 10  # bots voted on the live bars
    assert {s["regime"] for s in signals} <= set(REGIME_NAMES.values())
