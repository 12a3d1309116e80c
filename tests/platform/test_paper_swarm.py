"""The SwarmActor in a paper node on a catalog replay: the backtest's SwarmSignals, value for value, and the same entry
decisions through `entry_filter.swarm` (config/backtests/swarm-gate.yaml over three days of the bundled sample)."""

from __future__ import annotations

import pytest
import yaml

from ravebear.platform.nodes.composer import trading_node_plan
from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.platform.nodes.trading import build_trading_node, run_trading_node
from tests.conftest import sample_catalog
from tests.platform.test_backtest import ravebear
from tests.strategies.swarm_runs import INSTRUMENTS, backtest, collect, swarm_run_file

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("paper_swarm")
    catalog = sample_catalog(root / "catalog").path
    raw = swarm_run_file(catalog, {"missing_data": "block", "swarm": {"min_agree": 1, "block_regimes": ["volatile"]}},
                         node={"dashboard": False, "speed": 0, "stop_action": "flatten"})
    tested = backtest(raw, catalog)
    text = yaml.safe_dump(raw)
    config = parse_run_file(text, "swarm.yaml")
    handles = build_trading_node(config, "paper", catalog, log_level="ERROR")
    actors, strategies = handles.node.trader.actors(), handles.node.trader.strategies()
    outcome = run_trading_node(handles, config, text, root / "runs")
    assert outcome.failure is None
    return {"backtest": tested, "paper": collect(actors, strategies)}


def test_a_paper_replay_publishes_the_backtests_swarm_signals(runs):
    tested, replayed = runs["backtest"], runs["paper"]
    assert len(tested.signals) > 2 * 24 * 60 and {s.instrument_id.value for s in tested.signals} == set(INSTRUMENTS)
    assert sum(1 for s in tested.signals if s.votes) > 1000  # the bots vote: the comparison covers real votes
    assert replayed.signals == tested.signals  # custom data compares every field, in publication order
    assert replayed.published == tested.published == tested.signals


def test_a_paper_replay_gates_the_same_entries(runs):
    tested, replayed = runs["backtest"], runs["paper"]
    key = [(d.ts, d.instrument_id, d.side, d.refused_by) for d in tested.decisions]
    assert [(d.ts, d.instrument_id, d.side, d.refused_by) for d in replayed.decisions] == key
    assert {name for *_, name in key} >= {"swarm_min_agree", None}


def test_a_paper_replay_of_bars_asks_for_no_trades_or_book(tmp_path):
    catalog = sample_catalog(tmp_path / "catalog").path
    raw = swarm_run_file(catalog, node={"dashboard": False, "speed": 0})
    raw["run"] |= {"log_level": "WARNING", "output_dir": str(tmp_path / "runs")}
    raw["data"] = [{**data, "end": "2026-07-28 06:00"} for data in raw["data"]]
    path = tmp_path / "swarm.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("paper", str(path), "--catalog", str(catalog), "--no-dashboard")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "items replayed" in done.stdout
    assert "a subscription asks for" not in done.stdout + done.stderr  # the actor's order-flow bots subscribe to nothing here
    plan = trading_node_plan(parse_run_file(path.read_text(), "swarm.yaml"), "paper", catalog)
    [actor] = [a for a in plan.config.actors if a.actor_path.endswith(":SwarmActor")]
    assert actor.config["data_kinds"] == {name: ["bars"] for name in INSTRUMENTS}


def test_the_swarm_actor_learns_the_nodes_alt_data_clients(tmp_path):
    raw = swarm_run_file(tmp_path, alt_data={"types": ["FundingRate"]})
    config = parse_run_file(yaml.safe_dump(raw), "swarm.yaml")
    plan = trading_node_plan(config, "paper", tmp_path)
    [actor] = [a for a in plan.config.actors if a.actor_path.endswith(":SwarmActor")]
    assert actor.config["alt_data_clients"] == {"FundingRate": config.alt_data.client_id}
