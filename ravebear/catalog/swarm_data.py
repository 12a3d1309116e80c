"""`SwarmSignal`: what the signal swarm says about one instrument at a 1-minute candle close (the SwarmActor's output).

A nautilus `Data` with `@customdataclass` (like `LevelEventData` and the order-flow types), so the same object goes on
the message bus, into the catalog and back into a backtest. (No `from __future__ import annotations`: @customdataclass
reads the real annotations.)

`votes` is compact text: the bots that voted (not abstaining), in the swarm's bot order, as `name=vote` joined by
commas, each vote in `repr` form (read back exactly with `parse_votes`), e.g. "VolSurge=0.62,RSIRev=-0.4". A vote's
sign is its side (+ long, - short), its magnitude the confidence in (0, 1].
"""

from nautilus_trader.core.data import Data
from nautilus_trader.model.custom import customdataclass
from nautilus_trader.model.data import DataType
from nautilus_trader.model.identifiers import InstrumentId

_DEFAULT_INSTRUMENT = InstrumentId.from_str("BTC-USDT-SWAP.OKX")


@customdataclass
class SwarmSignal(Data):
    """The swarm of one instrument at a candle close (ts_event = ts_init = the candle's close, ns)."""

    instrument_id: InstrumentId = _DEFAULT_INSTRUMENT
    direction: int = 0  # the consensus: +1 long, -1 short, 0 none
    score: float = 0.0  # consensus score for that direction, 0-100
    confluence: int = 0  # bots voting that direction
    long_votes: int = 0  # bots voting long (whatever the consensus)
    short_votes: int = 0  # bots voting short
    regime: str = ""  # warmup | trending | ranging | volatile
    votes: str = ""  # the voting bots as name=vote, in bot order (see the module doc)

    def __init__(
        self, instrument_id: InstrumentId = _DEFAULT_INSTRUMENT, direction: int = 0, score: float = 0.0, confluence: int = 0, long_votes: int = 0,
        short_votes: int = 0, regime: str = "", votes: str = "", ts_event: int = 0, ts_init: int = 0,
    ) -> None:  # fmt: skip
        # written out (@customdataclass keeps it): a third of the generated one's cost, and the actor builds one a bar
        self.instrument_id, self.direction, self.score, self.confluence = instrument_id, direction, score, confluence
        self.long_votes, self.short_votes, self.regime, self.votes = long_votes, short_votes, regime, votes
        self._ts_event, self._ts_init = ts_event, ts_init


def vote_summary(names: tuple[str, ...], votes: tuple[float, ...]) -> tuple[str, int, int]:
    """The `votes` text of a swarm's votes (the non-zero ones as name=repr(vote), in bot order), and how many bots vote
    long and short; one pass, as the actor runs it at every candle."""
    if not any(votes):  # most candles: nobody votes
        return "", 0, 0
    longs = shorts = 0
    parts = []
    for name, vote in zip(names, votes):  # most bots abstain
        if vote:
            if vote > 0.0:
                longs += 1
            else:
                shorts += 1
            parts.append(f"{name}={vote!r}")
    return ",".join(parts), longs, shorts


def parse_votes(text: str) -> dict[str, float]:
    """The votes of a `votes` text: bot name -> vote (bots not named abstained)."""
    if not text:
        return {}
    pairs = (item.partition("=") for item in text.split(","))
    return {name: float(value) for name, _, value in pairs}


def swarm_data_type(instrument_id: str) -> DataType:
    """The data type of one instrument's SwarmSignals. A consumer subscribes with
    `subscribe_data(swarm_data_type(name), instrument_id=InstrumentId.from_str(name))` and gets them in `on_data`."""
    return DataType(SwarmSignal, metadata={"instrument_id": instrument_id})
