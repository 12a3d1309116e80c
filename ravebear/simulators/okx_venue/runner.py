"""Build the local OKX venue and run it: in the foreground (`ravebear venue okx-sim`) or in a thread (tests)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from ravebear.simulators.okx_venue.auth import Credentials
from ravebear.simulators.okx_venue.engine import MatchingEngine
from ravebear.simulators.okx_venue.ledger import Ledger, VenueInstrument
from ravebear.simulators.okx_venue.price_path import PricePath
from ravebear.simulators.okx_venue.recorded_session import load_session
from ravebear.simulators.okx_venue.server import OKXVenue, PlayerSettings
from ravebear.simulators.okx_venue.session_player import SessionSettings, attach
from ravebear.catalog.instruments import OKX_SWAPS

T = TypeVar("T")

# instIdCode: BTC's is the one OKX publishes (captured); the others are the venue's own, unique per instrument
INST_ID_CODES = {"BTC-USDT-SWAP": 10459, "ETH-USDT-SWAP": 10461, "SOL-USDT-SWAP": 10467}
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[3] / "data" / "sample"


@dataclass
class VenueSettings:
    """Everything `ravebear venue okx-sim` takes."""

    data_dir: Path = DEFAULT_DATA_DIR
    inst_ids: tuple[str, ...] = ("BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP")
    start_ms: int | None = None
    end_ms: int | None = None
    balance: Decimal = Decimal("10000")
    leverage: int = 10
    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port
    creds: Credentials = field(default_factory=lambda: Credentials("", "", ""))
    rebase: bool = True  # replay the candles from the current minute on (False: at their own historical times)
    player: PlayerSettings = field(default_factory=PlayerSettings)
    session: SessionSettings | None = None  # a recorded session serving trades, books and bbo-tbt (None: candle trades only)


def venue_instruments(inst_ids: tuple[str, ...]) -> dict[str, VenueInstrument]:
    """The venue's listing of the given OKX swaps (contract terms from ravebear.catalog.instruments)."""
    unknown = [i for i in inst_ids if i not in OKX_SWAPS]
    if unknown:
        raise ValueError(f"the venue lists {', '.join(OKX_SWAPS)}; unknown {unknown}")
    return {
        i: VenueInstrument(
            inst_id=i, inst_id_code=INST_ID_CODES[i], ct_val=Decimal(s.contract_value), tick_sz=Decimal(s.tick_size), lot_sz=Decimal(s.lot_size),
            min_sz=Decimal(s.min_size), max_lever=s.max_leverage, maker_fee=Decimal(s.maker_fee), taker_fee=Decimal(s.taker_fee),
            maint_margin=Decimal(s.maint_margin),
        )
        for i in inst_ids
        for s in [OKX_SWAPS[i]]
    }


def build_venue(settings: VenueSettings) -> OKXVenue:
    """The venue with its price path loaded and an empty account of `balance` USDT."""
    if not (settings.creds.api_key and settings.creds.secret and settings.creds.passphrase):
        raise ValueError("the venue needs an API key, secret and passphrase to check signatures (OKX_API_KEY, OKX_API_SECRET, OKX_API_PASSPHRASE)")
    path = PricePath.from_dir(settings.data_dir, list(settings.inst_ids), settings.start_ms, settings.end_ms)
    if settings.rebase:
        path.rebase(int(time.time() // 60) * 60_000)
    engine = MatchingEngine(venue_instruments(settings.inst_ids), Ledger(cash=settings.balance, leverage=settings.leverage), clock_ms=lambda: 0)
    venue = OKXVenue(engine, path, settings.creds, settings.player)
    if settings.session is not None:
        attach(venue, load_session(settings.session.path), settings.session)
    return venue


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class VenueThread:
    """The venue served from a background thread with its own event loop (for tests and tools)."""

    def __init__(self, settings: VenueSettings) -> None:
        self.settings = settings
        self.port = settings.port or free_port()
        self.venue = build_venue(settings)
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, name="okx-sim", daemon=True)

    @property
    def base_url_http(self) -> str:
        """The REST base URL for `node.okx.base_url_http`."""
        return f"http://{self.settings.host}:{self.port}"

    @property
    def base_url_ws(self) -> str:
        """The public WebSocket URL for `node.okx.base_url_ws` (the others are derived from it)."""
        return f"ws://{self.settings.host}:{self.port}/ws/v5/public"

    def start(self) -> VenueThread:
        """Serve until `stop`."""
        self._thread.start()
        self.call_async(self._serve())
        return self

    async def _serve(self) -> None:
        self._runner = web.AppRunner(self.venue.app())
        await self._runner.setup()
        await web.TCPSite(self._runner, self.settings.host, self.port).start()

    def call_async(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the venue's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn: Callable[[], T], timeout: float = 30.0) -> T:
        """Run `fn` on the venue's loop (the engine is not thread-safe) and return its result."""

        async def run() -> T:
            return fn()

        return self.call_async(run(), timeout)

    def stop(self) -> None:
        """Close every socket and the server; end the thread."""
        if self._runner is not None:
            self.call_async(self._runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> VenueThread:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serve_forever(settings: VenueSettings, on_ready: Callable[[OKXVenue, int], None] | None = None) -> None:
    """Serve in the foreground until Ctrl-C."""
    venue = build_venue(settings)
    port = settings.port or free_port()

    async def main() -> None:
        runner = web.AppRunner(venue.app())
        await runner.setup()
        await web.TCPSite(runner, settings.host, port).start()
        if on_ready:
            on_ready(venue, port)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
