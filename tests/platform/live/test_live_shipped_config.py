"""The shipped `config/live.yaml` (untouched wick, BTC and ETH, its guards and exits) trading at the local OKX venue."""

from __future__ import annotations

import yaml

from ravebear.simulators.okx_venue.runner import VenueSettings, VenueThread
from ravebear.simulators.okx_venue.server import PlayerSettings
from tests.platform.live.checks import assert_books_match, assert_no_exit_opened_a_position
from tests.platform.live.harness import CREDS, REPO, WINDOW_START, finish, start_live, wait_for

MINUTES = 2500  # real OKX candles of both instruments from 2026-07-27 12:20 (the sample's gaps are skipped)


def test_the_shipped_live_config_trades_at_the_venue_with_matching_books(tmp_path):
    start = int(WINDOW_START.timestamp() * 1000)
    venue = VenueThread(VenueSettings(
        inst_ids=("BTC-USDT-SWAP", "ETH-USDT-SWAP"), start_ms=start, end_ms=start + MINUTES * 60_000, creds=CREDS,
        player=PlayerSettings(step_s=0.01, settle_s=0.03, warmup_s=1.5),
    )).start()  # fmt: skip
    try:
        raw = yaml.safe_load((REPO / "config" / "live.yaml").read_text())
        raw["run"]["output_dir"] = str(tmp_path / "runs")
        raw["node"].pop("redis")
        raw.pop("sources")  # tests reach no outside service; tests/platform/live/test_live_altdata.py serves them locally
        raw["node"].update(dashboard=False, stop_action="flatten", okx={"environment": "live", "base_url_http": venue.base_url_http, "base_url_ws": venue.base_url_ws})
        config = tmp_path / "live.yaml"
        config.write_text(yaml.safe_dump(raw))
        log = tmp_path / "live.log"
        proc = start_live(config, log)
        assert wait_for(venue, lambda v: v.finished.is_set(), 600, proc)
        run = finish(venue, proc, log)
        unprotected = venue.call(lambda: list(venue.venue.engine.unprotected))
        played, total = venue.call(lambda: (venue.venue.path.position, len(venue.venue.path.steps)))
    finally:
        venue.stop()
    assert run.returncode == 0, run.output[-4000:]
    assert played == total > 1400  # every minute of the window was played (1,481 with the sample's gaps)
    assert "InvalidStateTrigger" not in run.output and "panicked" not in run.output
    positions = run.csv("positions.csv")
    assert set(positions["instrument_id"]) == {"BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"}  # both strategies traded
    assert unprotected == []  # every position had its stop resting at the venue at every trade
    assert run.ledger["positions"] == []  # Ctrl-C flattened
    books = assert_books_match(run)
    assert books["fills"] == len(run.csv("fills.csv")) >= 2 * len(positions)
    assert assert_no_exit_opened_a_position(run) >= len(positions)
