"""`swarm_config_from_mapping`: a run file's swarm: mapping to a SwarmConfig, every mistake one line naming its key."""

from __future__ import annotations

import pandas as pd
import pytest

from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.config import swarm_config_from_mapping
from ravebear.strategies.swarm.swarm import Swarm
from tests.strategies.swarm.swarm_data import candles


def test_a_valid_mapping_builds_a_running_swarm(okx_btc_raw: pd.DataFrame) -> None:
    names = list(BOTS)[:3]
    config = swarm_config_from_mapping(
        {"bots": names, "consensus": {"min_voters": 1, "weights": {names[0]: 2}}, "regime": {"timeframe_min": 5, "vol_min_history": 24}},
    )
    assert config.bots == tuple(names) and config.consensus.weights == {names[0]: 2.0} and config.regime.timeframe_min == 5
    swarm = Swarm(config)
    states = [swarm.on_candle(candle) for candle in candles(okx_btc_raw.iloc[:3000])]
    assert swarm.names == tuple(names)
    assert states[-1].regime != 0  # 24 five-minute candles of history are long past


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"bot": []}, "unknown key 'swarm.bot' (did you mean 'bots'?)"),
        ({"consensus": {"min_voter": 2}}, "unknown key 'swarm.consensus.min_voter' (did you mean 'min_voters'?)"),
        ({"consensus": {"min_voters": 0}}, "swarm.consensus.min_voters must be between 1 and 20 bots, got 0"),
        ({"consensus": {"group_weights": {"volum": 2}}}, "unknown key 'swarm.consensus.group_weights.volum' (did you mean 'volume'?)"),
        ({"consensus": {"decorrelate": "yes"}}, "swarm.consensus.decorrelate must be true or false, got 'yes'"),
        ({"regime": {"timeframe_min": "15"}}, "swarm.regime.timeframe_min must be a number, got '15'"),
        ({"regime": {"timeframe_min": 7.5}}, "swarm.regime.timeframe_min must be a whole number, got 7.5"),
        ({"regime": {"volatile_exit": 0.95}}, "swarm.regime.volatile_exit must be at most volatile_enter (0.9), got 0.95"),
        ({"regime": {"kind": "hmm"}}, "swarm.regime.kind must be one of rule, markov, got 'hmm'"),
        ({"bots": "FlashCrash"}, "swarm.bots must be a list of bot names, got 'FlashCrash'"),
        ({"bots": ["FlashCrash", "GapFill"], "consensus": {"min_voters": 3}}, "swarm.consensus.min_voters (3) is more than the 2 bots in swarm.bots"),
        ({"bots": ["FlashCrash", "FlashCrash"]}, "swarm.bots names 'FlashCrash' twice"),
        ({"settings": {"GapFill": {"max_bars": 5}}, "bots": ["FlashCrash"]}, "swarm.settings.GapFill: GapFill is not in swarm.bots"),
        ({"settings": {"GapFill": {"max_bars": 0}}}, "swarm.settings.GapFill.max_bars must be between 1 and 100,000 bars, got 0"),
        ({"settings": {"GapFill": {"max_bar": 5}}}, "unknown key 'swarm.settings.GapFill.max_bar' (did you mean 'max_bars'?)"),
        ({"settings": {"GapFill": {"max_bars": "x"}}}, "swarm.settings.GapFill.max_bars must be a number, got 'x'"),
        ([], "swarm must be a mapping with keys bots, settings, consensus, regime, got []"),
    ],
)
def test_mistakes_are_one_line(mapping: object, message: str) -> None:
    with pytest.raises(ValueError) as error:
        swarm_config_from_mapping(mapping)
    assert str(error.value) == message


def test_bad_bot_names_and_settings_are_named() -> None:
    name = next(iter(BOTS))
    typo = name[:-1]
    with pytest.raises(ValueError, match=rf"^swarm.bots: unknown bot '{typo}' \(did you mean '{name}'\?\)$"):
        swarm_config_from_mapping({"bots": [typo]})
    with pytest.raises(ValueError, match=rf"^unknown key 'swarm.settings.{name}.no_such_key'"):
        swarm_config_from_mapping({"settings": {name: {"no_such_key": 1}}})
    with pytest.raises(ValueError, match=rf"^swarm.consensus.weights: unknown bot '{typo}'"):
        swarm_config_from_mapping({"consensus": {"weights": {typo: 2}}})
    with pytest.raises(ValueError, match=r"^swarm.consensus.weights.\w+ must be between 0 and 100 x, got -1$"):
        swarm_config_from_mapping({"consensus": {"weights": {name: -1}}})
