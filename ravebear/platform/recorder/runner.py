"""Build and run the recorder node until Ctrl-C (or SIGTERM, or `timeout_s`), then write what is buffered and stop.

Stops with a reason instead of recording nothing: an instrument the venue does not list (usage error),
a client that did not connect within the connect timeout, a batch that could not be written.
"""

from __future__ import annotations

import asyncio
import difflib
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ravebear.platform.nodes.composer import CONNECT_TIMEOUT_S
from ravebear.platform.recorder.gaps import Gap

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog
    from ravebear.platform.recorder.actor import Series

CHECK_S = 0.2  # s between the runner's checks (stop asked, writer failure, connection, instruments)


@dataclass(frozen=True)
class RecorderSettings:
    """One recording session (ids in nautilus form: `BTC-USDT-SWAP.OKX`, `BTC/USD.KRAKEN`)."""

    okx_ids: tuple[str, ...] = ()
    kraken_ids: tuple[str, ...] = ()
    batch_seconds: float = 60.0  # s: every buffer is written at least this often
    batch_items: int = 50_000  # objects: a buffer is written as soon as it holds this many
    status_seconds: float = 1.0  # s: status line refresh (in place on a terminal)
    log_seconds: float = 10.0  # s: status line interval when stderr is not a terminal (a log file)
    okx_http: str | None = None  # base URLs (None: the venues' own)
    okx_ws: str | None = None
    kraken_http: str | None = None
    kraken_ws: str | None = None
    timeout_s: float | None = None  # stop after this long (None: until Ctrl-C)
    log_level: str = "ERROR"  # nautilus's log level (its lines would break the status line)


@dataclass
class RecordOutcome:
    """How a session ended and what it recorded."""

    elapsed_s: float = 0.0
    stopped_by: str = ""  # Ctrl-C | SIGTERM | timeout | the failure
    series: list[Series] = field(default_factory=list)
    batches: int = 0
    written: int = 0
    repeats_dropped: int = 0
    writer_busy_s: float = 0.0  # time the writer thread spent writing batches
    gaps: list[Gap] = field(default_factory=list)
    failure: str | None = None  # the run failed (exit 1)
    usage_error: str | None = None  # bad input found only once connected, e.g. an unknown instrument (exit 2)
    unwritten: bool = False  # the writer did not finish in time (some batches may be missing, none half-written)


def _node_config(settings: RecorderSettings) -> Any:
    from nautilus_trader.config import LoggingConfig, TradingNodeConfig

    from ravebear.platform.recorder.clients import KRAKEN_CLIENT, OKX_CLIENT, kraken_config, okx_config

    clients = {}
    if settings.okx_ids:
        clients[OKX_CLIENT] = okx_config(list(settings.okx_ids), settings.okx_http, settings.okx_ws)
    if settings.kraken_ids:
        clients[KRAKEN_CLIENT] = kraken_config(settings.kraken_http, settings.kraken_ws)
    return TradingNodeConfig(
        trader_id="RECORDER-001", data_clients=clients, exec_clients={}, logging=LoggingConfig(log_level=settings.log_level),
        timeout_connection=CONNECT_TIMEOUT_S, timeout_reconciliation=1.0, timeout_portfolio=1.0, timeout_disconnection=5.0,
        timeout_post_stop=0.5, timeout_shutdown=5.0,
    )  # fmt: skip


def _missing_instruments(node: Any, settings: RecorderSettings) -> str | None:
    """Why an asked-for instrument is not recording (the venue does not list it), or None."""
    from nautilus_trader.model.identifiers import InstrumentId

    problems = []
    for wanted, venue in [*((i, "OKX") for i in settings.okx_ids), *((i, "KRAKEN") for i in settings.kraken_ids)]:
        if node.cache.instrument(InstrumentId.from_str(wanted)) is not None:
            continue
        asked = {*settings.okx_ids, *settings.kraken_ids}
        known = [instrument.id.value for instrument in node.cache.instruments() if instrument.id.venue.value == venue and instrument.id.value not in asked]
        close = difflib.get_close_matches(wanted, known, n=1, cutoff=0.75)
        option = "--okx" if venue == "OKX" else "--kraken"
        problems.append(f"{option} {wanted.rsplit('.', 1)[0]}: {'OKX' if venue == 'OKX' else 'Kraken'} lists no such instrument" + (f" (did you mean {close[0].rsplit('.', 1)[0]}?)" if close else ""))
    return "; ".join(problems) or None


MALLOC_ARENAS = 2  # glibc malloc arenas for the recorder process (see `limit_malloc_arenas`)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX does), for arenas created from now on; False off glibc.

    Objects made on the event loop's thread are freed on the writer thread; with glibc's default of up
    to 8 arenas per core the freed memory fragments and RSS crept up ~30-75 MB per replayed hour at 10x the
    captures' rate. With 2 arenas it stays flat (bench/recorder.py, docs/NOTES.md).
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if sys.platform != "linux" or name is None:
        return False
    try:
        return bool(ctypes.CDLL(name).mallopt(-8, arenas))  # -8 = M_ARENA_MAX
    except (OSError, AttributeError):
        return False


def run_recorder(store: RaveCatalog, settings: RecorderSettings, out: TextIO | None = None) -> RecordOutcome:
    """Record until stopped; every buffered batch is written before it returns."""
    limit_malloc_arenas()
    from nautilus_trader.live.node import TradingNode

    from ravebear.platform.nodes.trading import _settle_tasks as settle_tasks
    from ravebear.platform.recorder.actor import RecorderActor, RecorderConfig
    from ravebear.platform.recorder.clients import data_factories, socket_states
    from ravebear.platform.recorder.status import status_line
    from ravebear.platform.recorder.writer import BatchWriter

    out = sys.stderr if out is None else out
    live_line = out.isatty()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    node = TradingNode(config=_node_config(settings), loop=loop)
    for name, factory in data_factories().items():
        if name in node._config.data_clients:  # noqa: SLF001 - the config we just gave it
            node.add_data_client_factory(name, factory)
    actor = RecorderActor(RecorderConfig(
        component_id="Recorder", okx_ids=settings.okx_ids, kraken_ids=settings.kraken_ids,
        batch_seconds=settings.batch_seconds, status_seconds=settings.status_seconds,
    ))  # fmt: skip
    node.trader.add_actor(actor)
    node.build()
    writer = BatchWriter(store, settings.batch_items)
    last_logged = [0.0]

    def show(state: Any) -> None:
        line = status_line(state, writer.stats)
        now = time.monotonic()
        if live_line:
            out.write("\r" + line + "\x1b[K")
            out.flush()
        elif now - last_logged[0] >= settings.log_seconds:
            last_logged[0] = now
            print(line, file=out, flush=True)

    actor.attach(writer, show, lambda: socket_states(node))
    outcome = RecordOutcome()
    stop = asyncio.Event()

    def request_stop(sig: int, *_: Any) -> None:
        if not stop.is_set():
            outcome.stopped_by = "Ctrl-C" if sig == signal.SIGINT else signal.Signals(sig).name
            print(("\n" if live_line else "") + f"stopping on {outcome.stopped_by}: writing the buffered batches", file=out, flush=True)
        loop.call_soon_threadsafe(stop.set)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, request_stop, sig)

    async def session() -> float:
        started = time.monotonic()
        runner = asyncio.ensure_future(node.run_async())
        checked = False
        while not stop.is_set():
            now = time.monotonic()
            if settings.timeout_s is not None and now - started >= settings.timeout_s:
                outcome.stopped_by = "timeout"
                break
            if writer.stats.failure is not None:
                outcome.failure = f"cannot write to the catalog {store.path}: {writer.stats.failure}"
                break
            if runner.done():
                outcome.failure = f"the node stopped: {runner.exception() or 'no reason given'}"
                break
            if not checked and node.trader.is_running and node.kernel.data_engine.check_connected():
                checked = True
                outcome.usage_error = _missing_instruments(node, settings)
                if outcome.usage_error:
                    break
            if not checked and now - started > CONNECT_TIMEOUT_S + 5.0:
                down = [str(c.id) for c in node.kernel.data_engine._clients.values() if not c.is_connected]  # noqa: SLF001
                outcome.failure = f"the {', '.join(down) or 'market data'} client did not connect within {CONNECT_TIMEOUT_S:g} s (check the venue URLs and the network)"
                break
            try:
                await asyncio.wait_for(stop.wait(), CHECK_S)
            except TimeoutError:
                pass
        if not checked and outcome.failure is None and outcome.usage_error is None:
            down = [str(c.id) for c in node.kernel.data_engine._clients.values() if not c.is_connected]  # noqa: SLF001
            if down:
                outcome.failure = f"the {', '.join(down)} client did not connect (check the venue URLs and the network); nothing recorded"
        elapsed = time.monotonic() - started
        running = asyncio.all_tasks()
        await node.stop_async()
        await asyncio.sleep(0.1)
        runner.cancel()
        await settle_tasks(3.0, started_before=running)
        return elapsed

    try:
        outcome.elapsed_s = loop.run_until_complete(session())
    finally:
        outcome.unwritten = not writer.close()
        if live_line:
            out.write("\n")
        node.dispose()
        loop.close()
    if writer.stats.failure is not None and outcome.failure is None:
        outcome.failure = f"cannot write to the catalog {store.path}: {writer.stats.failure}"
    outcome.series = list(actor.recorded.series.values())
    outcome.gaps = list(actor.recorded.gaps)
    outcome.batches, outcome.written, outcome.repeats_dropped = writer.stats.batches, writer.stats.written, writer.stats.repeats_dropped
    outcome.writer_busy_s = writer.stats.busy_s
    return outcome
