"""A worker reads each window of the catalog once: a second trial on the same window reuses the read and gives the
same run, value for value."""

from __future__ import annotations

import yaml

from ravebear.optimize import trial_run
from ravebear.platform.nodes.run_file import parse_run_file
from tests.optimize.conftest import write_run_file


def test_a_second_trial_reuses_the_catalog_read_and_gives_the_same_run(tmp_path, opt_catalog):
    raw = yaml.safe_load(write_run_file(tmp_path, "2026-07-28", "2026-07-30", ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")).read_text())
    config = parse_run_file(yaml.safe_dump(raw))
    trial_run._reads.clear()
    first = trial_run.run_trial(config, opt_catalog)
    assert len(trial_run._reads) == 2  # one read per data entry
    reads = dict(trial_run._reads)
    second = trial_run.run_trial(config, opt_catalog)
    assert all(trial_run._reads[key] is reads[key] for key in reads)  # reused, not read again
    assert first.metrics == second.metrics and first.metrics["trades"] > 0
    assert first.equity.equals(second.equity)
    assert first.bars == second.bars > 0


def test_a_trial_of_the_shipped_config_writes_no_ledger(tmp_path, opt_catalog, monkeypatch):
    ledger = tmp_path / "ledger.sqlite"
    monkeypatch.setenv("RAVEBEAR_LEDGER_URL", f"sqlite:///{ledger}")
    config = parse_run_file(write_run_file(tmp_path, "2026-07-28", "2026-07-29").read_text())
    assert config.ledger is not None and config.alerts is not None  # the shipped config records and alerts
    assert trial_run.run_trial(config, opt_catalog).bars > 0
    assert not ledger.exists()


def test_trials_replay_their_levels_once_and_run_as_with_the_streaming_engine(tmp_path, opt_catalog, monkeypatch):
    """Trials precompute their levels (every bar count) and keep them in the worker's memo: a second trial of the same
    window and levels config reuses them, and both give the run the streaming level engine gives, value for value."""
    config = parse_run_file(write_run_file(tmp_path, "2026-07-28", "2026-07-30", ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")).read_text())
    memo = trial_run.ReplayMemo(entries=4)
    monkeypatch.setattr(trial_run, "_replays", memo)
    replayed = trial_run.run_trial(config, opt_catalog)
    assert len(memo._replays) == 2 and memo.hits == 0  # one replay per instrument
    again = trial_run.run_trial(config, opt_catalog)
    assert memo.hits == 2 and len(memo._replays) == 2
    monkeypatch.setattr(trial_run, "TRIAL_REPLAY_MIN_BARS", 10**9)  # the streaming engine
    streamed = trial_run.run_trial(config, opt_catalog)
    assert memo.hits == 2  # not asked
    assert streamed.metrics["trades"] > 0
    for run in (replayed, again):
        assert run.metrics == streamed.metrics
        assert run.equity.equals(streamed.equity)
        assert run.bars == streamed.bars
