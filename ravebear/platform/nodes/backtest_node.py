"""`RaveBacktestNode`: nautilus's BacktestNode with the loaded data kept out of the garbage collector during the run,
and the levels of the loaded bars offered precomputed (`level_replay.py`).

A BacktestNode loads every bar (and tick) of the run before the engine loop starts: 1.58M `Bar` objects in the
three-instrument year. They are tracked by the cyclic garbage collector, so every full collection during the run walks
all of them although none can become cyclic garbage. `gc.freeze()` once the data is loaded moves them (and what the
node built before) to the permanent generation; `gc.unfreeze()` after the run gives them back. The three-instrument
year ran in 136 s instead of 161 s with the same trades (docs/NOTES.md). A replayed level feed, made when the actors
start, is frozen as well: its events and the modules numba imports made each later full collection ~80 ms at 200k bars.
Objects are still freed by reference counting while frozen; only cycles among frozen objects wait for the unfreeze.
"""

from __future__ import annotations

import gc
from typing import Any

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.data import Bar

from ravebear.platform.nodes.level_replay import REPLAY_MIN_BARS, LevelReplaySource, ReplayMemo
from ravebear.platform.nodes.loaded_bars import LOADED_BARS_ENDPOINT
from ravebear.strategies.level_sharing import LEVEL_SOURCE_ENDPOINT


class RaveBacktestNode(BacktestNode):
    """BacktestNode whose loaded data is frozen out of the cyclic GC for the run, and whose bars' levels are
    offered precomputed to the LevelActor and level strategies (every backtest RaveBear runs)."""

    def __init__(self, configs: list[Any], level_replay_min_bars: int = REPLAY_MIN_BARS, level_replay_memo: ReplayMemo | None = None) -> None:
        super().__init__(configs)
        self.level_replay_min_bars = level_replay_min_bars  # 1-minute bars of a type before its levels are precomputed
        self.level_replay_memo = level_replay_memo  # replays kept across nodes (an optimisation worker's trials)
        self.level_sources: dict[int, LevelReplaySource] = {}  # by engine (one per run config), for this run

    def _load_engine_data(self, engine: Any, result: Any, sort: bool = True) -> None:
        super()._load_engine_data(engine=engine, result=result, sort=sort)
        if result.data_cls is Bar:  # not a loop over millions of ticks
            self._level_source(engine).add(result.data)
        gc.collect()  # what is garbage now is not frozen with the data
        gc.freeze()

    def _level_source(self, engine: Any) -> LevelReplaySource:
        """The engine's level source, registered on its message bus at its first data load."""
        source = self.level_sources.get(id(engine))
        if source is None:
            # a replay's events and numba's modules (~80 ms a full collection) are frozen too, as the data was
            source = self.level_sources[id(engine)] = LevelReplaySource(self.level_replay_min_bars, self.level_replay_memo, on_grant=_freeze_young)
            engine.kernel.msgbus.register(LEVEL_SOURCE_ENDPOINT, source)
            engine.kernel.msgbus.register(LOADED_BARS_ENDPOINT, source.serve_bars)
        return source

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Run as nautilus does; the frozen objects are collectable again afterwards."""
        try:
            return super().run(*args, **kwargs)
        finally:
            gc.unfreeze()
            for source in self.level_sources.values():
                source.release()  # the bars it kept


def _freeze_young() -> None:
    """Collect the young generations, then freeze what is left: a replay's setup (numba's loading above all) leaves
    cyclic garbage that a freeze would keep until the run ends (~160 MB in the three-instrument year)."""
    gc.collect(1)
    gc.freeze()
