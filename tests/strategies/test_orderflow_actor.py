"""The OrderFlowActor in a BacktestNode built from a run file publishes what the research path computes: the same
detectors fed the same catalog items (trades and L2 book deltas of a real Binance USD-M capture) directly."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.orderflow.events import OrderFlowEvent, OrderFlowSnapshot
from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.backtest import check_data_available
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from ravebear.strategies.microstructure.absorption import AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.cvd import CvdConfig, CvdTracker
from ravebear.strategies.microstructure.types import Book
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector
from ravebear.strategies.orderflow_actor import OrderFlowActor, absorption_event, orderflow_data_types, apply_delta, quote_from_tick, trade_from_tick, whale_event
from tests.catalog.orderflow.captures import slice_capture
from tests.platform.test_backtest import ravebear

INSTRUMENT = "BTCUSDT-PERP.BINANCE"
SECONDS = 40.0  # of the capture after its REST snapshot
INTERVAL_S = 5.0
# small thresholds so that 40 s of real data hold absorption tiers and whale trades
ABSORPTION = {"bucket_s": 1.0, "lookback_buckets": 5, "tier_multiples": [1.5, 2.5, 4.0], "tier_max_move_bps": [3.0, 2.0, 1.0]}
WHALES = {"min_notional": 100_000.0, "cluster_window_s": 10.0}
BOOK = {"levels": 5, "half_distance_bps": 2.0, "depth_bps": 5.0}
CVD = {"window_s": 10.0}


class ListenerConfig(ActorConfig, frozen=True, kw_only=True):
    """The instrument whose order flow to listen to."""

    instrument_id: str


class Listener(Actor):
    """A consumer of the OrderFlowActor's custom data, subscribed as a strategy would be."""

    def __init__(self, config: ListenerConfig) -> None:
        super().__init__(config)
        self.received: list = []

    def on_start(self) -> None:
        for data_type in orderflow_data_types(self.config.instrument_id):
            self.subscribe_data(data_type, instrument_id=InstrumentId.from_str(self.config.instrument_id))

    def on_stop(self) -> None:
        pass

    def on_data(self, data) -> None:  # noqa: ANN001 - any custom data
        self.received.append(data)


def run_file_text(catalog: Path, kinds: tuple[str, ...] = ("trades", "book")) -> str:
    actor = {
        "actor_path": "ravebear.strategies.orderflow_actor:OrderFlowActor",
        "config": {
            "instrument_ids": [INSTRUMENT], "interval_s": INTERVAL_S, "record": True, "book_source": "quotes" if "quotes" in kinds else "deltas",
            "cvd": CVD, "book": BOOK, "absorption": ABSORPTION, "whales": WHALES,
        },
    }  # fmt: skip
    raw = {
        "run": {"catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"},
        "venue": {"name": "BINANCE", "starting_balance": "10000 USDT"},
        "data": [{"instrument_id": INSTRUMENT, "kind": kind} for kind in kinds],
        "actors": [actor, {"actor_path": f"{__name__}:Listener", "config": {"instrument_id": INSTRUMENT}}],
    }
    return yaml.safe_dump(raw)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> RaveCatalog:
    folder = tmp_path_factory.mktemp("orderflow")
    files = slice_capture("usdm", folder / "src", seconds=SECONDS)
    store = RaveCatalog(folder / "cat")
    for kind in ("trades", "depthdiff", "bookticker"):
        import_file(store, files[kind])
    return store


def research(store: RaveCatalog, book_cls: type = OrderBookDelta) -> tuple[list[OrderFlowSnapshot], list[OrderFlowEvent]]:
    """The detectors fed the catalog's trades and deltas (or quotes) directly, in the node's order (ts_init), snapshot per interval."""
    instrument_id = InstrumentId.from_str(INSTRUMENT)
    trades = store.nautilus.query(TradeTick, identifiers=[INSTRUMENT])
    book_items = store.nautilus.query(book_cls, identifiers=[INSTRUMENT])
    items = sorted([*book_items, *trades], key=lambda item: item.ts_init)
    cvd, absorption = CvdTracker(CvdConfig(**CVD)), AbsorptionDetector(AbsorptionConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in ABSORPTION.items()}))
    whales, book, book_config = WhaleDetector(WhaleConfig(**WHALES)), Book(), BookFeatureConfig(**BOOK)
    interval = int(INTERVAL_S * 1e9)
    snapshots, events = [], []
    end = 0
    counts = {"trades": 0, "buy": 0.0, "sell": 0.0, "tier": 0, "whales": 0}
    last_price = 0.0
    for item in items:
        if item.ts_init >= end:
            if end:
                features = book_features(book, book_config)
                assert features is not None
                snapshots.append(
                    OrderFlowSnapshot(
                        instrument_id=instrument_id, interval_start=end - interval, trades=counts["trades"], buy_size=counts["buy"],
                        sell_size=counts["sell"], last_price=last_price, cvd_total=cvd.total, cvd_session=cvd.session, cvd_window=cvd.window,
                        session=cvd.session_name, has_book=True, obi=features.obi, weighted_obi=features.weighted_obi,
                        spread_bps=features.spread_bps, bid_depth=features.bid_depth, ask_depth=features.ask_depth,
                        absorption_tier=counts["tier"], whales=counts["whales"], ts_event=end, ts_init=end,
                    ),
                )  # fmt: skip
            end = (item.ts_init // interval + 1) * interval
            counts = {"trades": 0, "buy": 0.0, "sell": 0.0, "tier": 0, "whales": 0}
        if isinstance(item, OrderBookDelta):
            apply_delta(book, item)
            continue
        if isinstance(item, QuoteTick):
            book.apply_quote(quote_from_tick(item))
            continue
        trade = trade_from_tick(item)
        cvd.update(trade)
        counts["trades"] += 1
        counts["buy" if trade.aggressor > 0 else "sell"] += trade.size
        last_price = trade.price
        bucket = absorption.update(trade)
        if bucket is not None:
            counts["tier"] = bucket.tier
            if bucket.tier >= 1:
                events.append(absorption_event(instrument_id, bucket, item.ts_init))
        whale = whales.update(trade)
        if whale is not None:
            counts["whales"] += 1
            events.append(whale_event(instrument_id, whale, item.ts_init))
    return snapshots, events


def run_actor(store: RaveCatalog, text: str) -> OrderFlowActor:
    config = parse_run_file(text, "orderflow.yaml")
    check_data_available(config, store)
    run_config = backtest_run_config(config, store.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.run()
    actor, listener = node.get_engine(run_config.id).trader.actors()
    published = sorted([*actor.snapshots, *actor.events], key=lambda data: (data.ts_init, isinstance(data, OrderFlowSnapshot)))
    received = sorted(listener.received, key=lambda data: (data.ts_init, isinstance(data, OrderFlowSnapshot)))
    assert received == published  # everything recorded also went over the message bus, once
    return actor


def test_the_actor_publishes_the_research_paths_snapshots_and_events(catalog):
    actor = run_actor(catalog, run_file_text(catalog.path))
    snapshots, events = research(catalog)
    assert len(snapshots) >= int(SECONDS / INTERVAL_S) - 1
    assert {event.event for event in events} == {"absorption", "whale"}  # the thresholds catch both in this capture
    assert actor.snapshots == snapshots
    assert actor.events == events
    assert any(snapshot.absorption_tier > 0 for snapshot in snapshots) and any(snapshot.whales for snapshot in snapshots)


def test_with_quotes_as_the_book_the_actor_equals_the_research_path(catalog):
    actor = run_actor(catalog, run_file_text(catalog.path, ("trades", "quotes")))
    snapshots, events = research(catalog, QuoteTick)
    assert actor.snapshots == snapshots and actor.events == events
    deltas_run = research(catalog)[0]
    assert len(snapshots) == len(deltas_run) and [s.obi for s in snapshots] != [d.obi for d in deltas_run]  # the L1 book is not the L2 one
    assert all(s.bid_depth <= d.bid_depth for s, d in zip(snapshots, deltas_run))  # one level holds at most the depth of many


def test_a_data_entry_without_its_data_in_the_catalog_is_named(catalog, tmp_path):
    empty = RaveCatalog(tmp_path / "empty")
    config = parse_run_file(run_file_text(empty.path, ("trades", "book")), "orderflow.yaml")
    with pytest.raises(ConfigError, match=r"data\[0\]: no trades for BTCUSDT-PERP.BINANCE in the catalog at .*import-orderflow"):
        check_data_available(config, empty)
    late = yaml.safe_load(run_file_text(catalog.path, ("trades",)))
    late["data"][0]["start"] = "2024-08-10"
    with pytest.raises(ConfigError, match=r"data\[0\]: no trades for BTCUSDT-PERP.BINANCE in 2024-08-10 .. the last item; the catalog holds them for 2024-08-08"):
        check_data_available(parse_run_file(yaml.safe_dump(late)), catalog)


def test_a_bad_data_kind_is_named_with_the_allowed_ones_and_exit_2(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(run_file_text(tmp_path / "cat").replace("kind: book", "kind: boook"))
    done = ravebear("backtest", str(path))
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {path}: 'data[1].kind': unknown data kind 'boook' (did you mean 'book'?); allowed: bars, trades, book, quotes"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"whales": {"min_notional": -1}}, "orderflow.yaml: 'actors[0].config.whales.min_notional' must be above 0 quote currency, got -1"),
        ({"absorption": {"bucket_sz": 1}}, "orderflow.yaml: actors[0]: config: unknown key 'absorption.bucket_sz' (did you mean 'bucket_s'?) for OrderFlowActorConfig"),
        ({"interval_s": 0}, "orderflow.yaml: 'actors[0].config.interval_s' must be above 0 and at most 86,400 seconds, got 0"),
        ({"book_source": "l2"}, "orderflow.yaml: 'actors[0].config.book_source' must be one of deltas, quotes, none, got 'l2'"),
    ],
)
def test_a_bad_actor_threshold_is_named_with_its_key(tmp_path, change, message):
    raw = yaml.safe_load(run_file_text(tmp_path))
    config = raw["actors"][0]["config"]
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) else value
    with pytest.raises(ConfigError) as raised:
        parse_run_file(yaml.safe_dump(raw), "orderflow.yaml")
    assert str(raised.value) == message
