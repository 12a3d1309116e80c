"""The swarm's entry conditions in a real backtest on the bundled sample: `entry_filter.swarm` refuses exactly the entries
whose SwarmSignal (the SwarmActor's, at the entry's candle) fails it, checked by brute force against the published signals;
without the actor the filter's missing_data policy decides; bad settings are one line naming the key."""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter

import pytest
import yaml

from ravebear.catalog.swarm_data import parse_votes
from ravebear.platform.nodes.composer import backtest_warnings, trading_node_plan
from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from tests.conftest import sample_catalog
from tests.platform.test_backtest import ravebear
from tests.strategies.swarm_runs import INSTRUMENTS, backtest, swarm_run_file

MIN_AGREE = 1
BLOCKED = ("volatile",)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    return sample_catalog(tmp_path_factory.mktemp("catalog")).path


@pytest.fixture(scope="module")
def gated(catalog):
    raw = swarm_run_file(catalog, {"missing_data": "block", "swarm": {"min_agree": MIN_AGREE, "block_regimes": list(BLOCKED)}})
    return backtest(raw, catalog)


def expected_refusal(signal, side: str) -> str | None:
    """The swarm condition that must refuse a `side` (BUY/SELL) entry at this signal, from its votes text alone."""
    direction = 1 if side == "BUY" else -1
    agree = sum(1 for vote in parse_votes(signal.votes).values() if vote * direction > 0)
    if agree < MIN_AGREE:
        return "swarm_min_agree"
    if signal.regime in BLOCKED:
        return "swarm_block_regimes"
    return None


def test_the_swarm_gate_refuses_exactly_the_entries_whose_signal_fails_it(gated):
    assert gated.published == gated.signals and len(gated.signals) > 2 * 24 * 60  # one per instrument and bar, all on the bus
    by_candle = {(signal.instrument_id.value, signal.ts_event): signal for signal in gated.signals}
    assert len(by_candle) == len(gated.signals)
    assert {key[0] for key in by_candle} == set(INSTRUMENTS)
    outcomes = Counter()
    for decision in gated.decisions:
        signal = by_candle[(decision.instrument_id, decision.ts)]  # the SwarmSignal of the entry's own candle
        expected = expected_refusal(signal, decision.side)
        if expected is None:
            assert not (decision.refused_by or "").startswith("swarm_"), (decision, signal)
        else:
            assert decision.refused_by == expected, (decision, signal)
        outcomes[expected or ("taken" if decision.accepted else "other")] += 1
    # both conditions refuse something and some entries pass them: the check above could fail either way
    assert outcomes["swarm_min_agree"] > 0 and outcomes["swarm_block_regimes"] > 0, outcomes
    assert outcomes["taken"] > 0, outcomes
    assert {k: v for k, v in gated.skipped.items() if k.startswith("swarm_")} == {
        name: outcomes[name] for name in ("swarm_min_agree", "swarm_block_regimes") if outcomes[name]
    }


def test_a_swarm_signal_counts_its_votes_as_its_votes_text_says(gated):
    for signal in gated.signals[:: max(1, len(gated.signals) // 500)]:
        votes = parse_votes(signal.votes)
        assert signal.long_votes == sum(1 for v in votes.values() if v > 0)
        assert signal.short_votes == sum(1 for v in votes.values() if v < 0)
        assert all(0 < abs(v) <= 1 for v in votes.values())
        if signal.direction:
            assert signal.confluence == (signal.long_votes if signal.direction > 0 else signal.short_votes)
    assert {signal.regime for signal in gated.signals} <= {"warmup", "trending", "ranging", "volatile"}


def test_the_actors_hit_rates_are_the_outcomes_of_its_published_signals(gated):
    """The consensus hit rate per instrument at 15 minutes, recounted from the published signals and the sample's closes:
    a vote resolves at the first candle closing at least 15 minutes later, a hit when price moved its way > 5 bps."""
    from ravebear.catalog.candles import read_ohlcv_file
    from tests.conftest import SAMPLE

    for name in INSTRUMENTS:
        frame = read_ohlcv_file(next(SAMPLE.glob(f"okx_swap_{name.removesuffix('.OKX')}_*.parquet")))
        closes = dict(zip((frame["ts"] + 60_000) * 1_000_000, frame["close"], strict=True))
        signals = [s for s in gated.signals if s.instrument_id.value == name]
        times = [s.ts_event for s in signals]
        count = hits = 0
        for signal in signals:
            if not signal.direction:
                continue
            index = bisect_left(times, signal.ts_event + 15 * 60 * 10**9)
            if index == len(times):
                continue  # not resolved by the end of the run
            due = times[index]
            count += 1
            move = (closes[due] - closes[signal.ts_event]) / closes[signal.ts_event]
            hits += move * signal.direction > 5e-4
        rate = gated.hit_rates[name].rate("consensus", 15)
        assert (rate.count, rate.hits) == (count, hits) and count > 100, name


def test_swarm_signals_written_to_the_catalog_replay_into_a_backtest_and_gate_the_same_entries(gated, tmp_path):
    """SwarmSignals are catalog data: written with the catalog's atomic writer, read back equal, and replayed into a
    backtest without the SwarmActor (listed before the bars, so a candle's signal comes before its bar, as the actor's
    does) they gate exactly the entries the actor's signals gated."""
    import msgspec
    from nautilus_trader.backtest.node import BacktestNode
    from nautilus_trader.config import BacktestDataConfig

    from ravebear.catalog.atomic_write import write_data
    from ravebear.catalog.store import RaveCatalog
    from ravebear.catalog.swarm_data import SwarmSignal
    from ravebear.platform.nodes.composer import backtest_run_config
    from tests.strategies.swarm_runs import collect

    catalog = sample_catalog(tmp_path / "catalog").path
    stored = sorted(gated.signals, key=lambda signal: signal.ts_init)
    write_data(catalog, stored)
    read = [item.data for item in RaveCatalog(catalog).nautilus.query(SwarmSignal)]
    assert sorted(read, key=lambda signal: (signal.ts_init, signal.instrument_id.value)) == sorted(stored, key=lambda signal: (signal.ts_init, signal.instrument_id.value))
    raw = swarm_run_file(catalog, {"missing_data": "block", "swarm": {"min_agree": MIN_AGREE, "block_regimes": list(BLOCKED)}}, swarm_actor=False)
    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(raw), "swarm.yaml"), catalog.resolve())
    signals = [
        BacktestDataConfig(catalog_path=str(catalog), data_cls=f"{SwarmSignal.__module__}:SwarmSignal", instrument_id=name,
                           metadata={"instrument_id": name}, client_id="SWARM")
        for name in INSTRUMENTS
    ]  # fmt: skip
    run_config = msgspec.structs.replace(run_config, data=[*signals, *run_config.data])
    node = BacktestNode(configs=[run_config])
    node.run()
    trader = node.get_engine(run_config.id).trader
    replayed = collect(trader.actors(), trader.strategies())
    node.dispose()
    assert replayed.published == stored
    assert [(d.ts, d.instrument_id, d.side, d.refused_by) for d in replayed.decisions] == [(d.ts, d.instrument_id, d.side, d.refused_by) for d in gated.decisions]


@pytest.mark.parametrize("policy", ["block", "pass"])
def test_without_the_swarm_actor_the_missing_data_policy_decides(catalog, gated, policy):
    raw = swarm_run_file(catalog, {"missing_data": policy, "swarm": {"min_agree": MIN_AGREE}}, swarm_actor=False)
    run = backtest(raw, catalog)
    assert run.published == [] and len(run.decisions) > 0
    refused = Counter(decision.refused_by for decision in run.decisions)
    if policy == "block":
        assert refused == {"swarm_min_agree": len(run.decisions)}
    else:
        assert not any((name or "").startswith("swarm_") for name in refused)
    warning = (f"swarm conditions got no SwarmSignal (add the SwarmActor under actors:): they {'refused' if policy == 'block' else 'passed'} "
               "every entry (entry_filter.missing_data)")  # fmt: skip
    assert run.unfed == [warning] * len(INSTRUMENTS)
    # said before the run too, once per instrument
    config = parse_run_file(yaml.safe_dump(raw), "swarm.yaml")
    expected = [f"entry_filter.swarm: no SwarmActor under actors: watches {name}; its missing_data policy decides every entry" for name in INSTRUMENTS]
    assert [w for w in backtest_warnings(config) if w.startswith("entry_filter.swarm")] == expected
    assert [w for w in trading_node_plan(config, "paper", catalog).warnings if w.startswith("entry_filter.swarm")] == expected


def test_with_the_swarm_actor_nothing_is_said_before_the_run(catalog):
    config = parse_run_file(yaml.safe_dump(swarm_run_file(catalog)), "swarm.yaml")
    assert [w for w in backtest_warnings(config) if "swarm" in w] == []


def _parse(catalog, **changes):
    raw = swarm_run_file(catalog)
    strategy, actor = raw["strategies"][0]["config"], raw["actors"][0]["config"]
    strategy["entry_filter"]["swarm"] |= changes.get("swarm", {})
    actor |= changes.get("actor", {})
    parse_run_file(yaml.safe_dump(raw), "swarm.yaml")


@pytest.mark.parametrize(("changes", "message"), [
    ({"swarm": {"min_agree": 30}}, "'strategies[0].config.entry_filter.swarm.min_agree' must be between 0 and 20 bots (0 = off), got 30"),
    ({"swarm": {"block_regimes": ["calm"]}}, "entry_filter.swarm.block_regimes: unknown 'calm'; known: warmup, trending, ranging, volatile"),
    ({"swarm": {"min_agre": 3}}, "unknown key 'entry_filter.swarm.min_agre' (did you mean 'min_agree'?)"),
    ({"actor": {"refrence": {}}}, "unknown key 'config.refrence' for SwarmActorConfig (did you mean 'reference'?)"),
    ({"actor": {"reference": {"SOL-USDT-SWAP.OKX": "BTC-USDT-SWAP.OKX"}}}, "reference.SOL-USDT-SWAP.OKX: not one of instrument_ids (BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX)"),
    ({"actor": {"reference": {"ETH-USDT-SWAP.OKX": "SOL-USDT-SWAP.OKX"}}},
     "'actors[0].config.reference.ETH-USDT-SWAP.OKX' SOL-USDT-SWAP.OKX is not under data: (add a data: entry for it); data: has BTC-USDT-SWAP.OKX, ETH-USDT-SWAP.OKX"),
    ({"actor": {"swarm": {"bots": ["RSIrev"]}}}, "swarm.bots: unknown bot 'RSIrev' (did you mean 'RSIRev'?)"),
    ({"actor": {"hit_rates": {"horizon": [5]}}}, "unknown key 'hit_rates.horizon' (did you mean 'horizons_min'?)"),
    ({"actor": {"book_source": "l3"}}, "'actors[0].config.book_source' must be one of deltas, quotes, none, got 'l3'"),
])  # fmt: skip
def test_a_bad_swarm_setting_is_named_in_one_line(catalog, changes, message):
    with pytest.raises(ConfigError) as raised:
        _parse(catalog, **changes)
    text = str(raised.value)
    assert text.startswith("swarm.yaml: ") and message in text and "\n" not in text, text


def test_the_cli_refuses_a_bad_swarm_setting_with_exit_2(catalog, tmp_path):
    raw = swarm_run_file(catalog)
    raw["strategies"][0]["config"]["entry_filter"]["swarm"]["min_agree"] = 30
    path = tmp_path / "swarm.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("backtest", str(path), "--catalog", str(catalog), "--output", str(tmp_path / "runs"))
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.strip() == f"error: {path}: 'strategies[0].config.entry_filter.swarm.min_agree' must be between 0 and 20 bots (0 = off), got 30"
