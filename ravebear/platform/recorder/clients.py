"""The recorder's data clients: nautilus's OKX client on public channels only, and its Kraken spot client.

nautilus 1.231's OKX data client factory builds its REST client with the account keys and, without them,
fails ("environment variable 'OKX_API_KEY' must be set") although instruments, trades and books are
public. `PublicOKXDataClientFactory` builds the same `OKXDataClient` with a key-less REST client and no
keys on the sockets (so the business socket does not try to log in). Kraken's spot client needs no keys
for public data.
"""

from __future__ import annotations

import re
from typing import Any

from nautilus_trader.live.factories import LiveDataClientFactory

OKX_CLIENT, KRAKEN_CLIENT = "OKX", "KRAKEN"
_OKX_ID = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+(-SWAP|-\d{6})?$")
_KRAKEN_ID = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+$")


def okx_instrument_id(text: str) -> str:
    """`BTC-USDT-SWAP` or `BTC-USDT-SWAP.OKX` -> `BTC-USDT-SWAP.OKX`; ValueError naming the expected form."""
    symbol = text.strip().upper().removesuffix(".OKX")
    if not _OKX_ID.match(symbol):
        raise ValueError(f"--okx {text!r}: not an OKX instId (e.g. BTC-USDT-SWAP, BTC-USDT, BTC-USD-250926)")
    return f"{symbol}.OKX"


def kraken_instrument_id(text: str) -> str:
    """`BTC/USD`, `XBT/USD` or `BTC/USD.KRAKEN` -> `BTC/USD.KRAKEN` (nautilus names Kraken's XBT as BTC)."""
    symbol = text.strip().upper().removesuffix(".KRAKEN")
    if not _KRAKEN_ID.match(symbol):
        raise ValueError(f"--kraken {text!r}: not a Kraken spot pair (e.g. BTC/USD, ETH/USD)")
    base, quote = symbol.split("/")
    return f"{'BTC' if base == 'XBT' else base}/{quote}.KRAKEN"


def okx_instrument_types(instrument_ids: list[str]) -> tuple[Any, ...]:
    """The OKX instrument types to load for these ids (SWAP, FUTURES, SPOT)."""
    from nautilus_trader.core.nautilus_pyo3 import OKXInstrumentType

    kinds = []
    for instrument_id in instrument_ids:
        symbol = instrument_id.removesuffix(".OKX")
        kind = OKXInstrumentType.SWAP if symbol.endswith("-SWAP") else OKXInstrumentType.FUTURES if re.search(r"-\d{6}$", symbol) else OKXInstrumentType.SPOT
        if kind not in kinds:
            kinds.append(kind)
    return tuple(kinds)


def okx_config(instrument_ids: list[str], base_url_http: str | None, base_url_ws: str | None) -> Any:
    """OKX market data for these instruments (public channels; `base_url_ws` = the public socket's URL)."""
    from nautilus_trader.adapters.okx.config import OKXDataClientConfig
    from nautilus_trader.config import InstrumentProviderConfig

    return OKXDataClientConfig(
        instrument_types=okx_instrument_types(instrument_ids),
        instrument_provider=InstrumentProviderConfig(load_ids=frozenset(instrument_ids)),
        base_url_http=base_url_http, base_url_ws=base_url_ws, update_instruments_interval_mins=None,
    )  # fmt: skip


def kraken_config(base_url_http: str | None, base_url_ws: str | None) -> Any:
    """Kraken spot market data (the provider loads every spot pair: nautilus 1.231 has no per-pair load)."""
    from nautilus_trader.adapters.kraken.config import KrakenDataClientConfig
    from nautilus_trader.config import InstrumentProviderConfig

    return KrakenDataClientConfig(
        instrument_provider=InstrumentProviderConfig(load_all=True),
        base_url_http_spot=base_url_http, base_url_ws_spot=base_url_ws, update_instruments_interval_mins=None,
    )  # fmt: skip


class PublicOKXDataClientFactory(LiveDataClientFactory):
    """nautilus's `OKXDataClient` without account keys (public market data only)."""

    @staticmethod
    def create(loop: Any, name: str, config: Any, msgbus: Any, cache: Any, clock: Any) -> Any:  # noqa: D102
        from nautilus_trader.adapters.okx.data import OKXDataClient
        from nautilus_trader.adapters.okx.providers import OKXInstrumentProvider
        from nautilus_trader.core import nautilus_pyo3

        options: dict[str, Any] = {"base_url": config.base_url_http} if config.base_url_http else {}
        http = nautilus_pyo3.OKXHttpClient(api_key="", api_secret="", api_passphrase="", **options)  # "" = no key; None reads the environment
        provider = OKXInstrumentProvider(client=http, instrument_types=config.instrument_types, config=config.instrument_provider)
        return OKXDataClient(loop=loop, client=http, msgbus=msgbus, cache=cache, clock=clock, instrument_provider=provider, config=config, name=name)


def data_factories() -> dict[str, type[LiveDataClientFactory]]:
    """Client name -> factory, for `TradingNode.add_data_client_factory`."""
    from nautilus_trader.adapters.kraken.factories import KrakenLiveDataClientFactory

    return {OKX_CLIENT: PublicOKXDataClientFactory, KRAKEN_CLIENT: KrakenLiveDataClientFactory}


def socket_states(node: Any) -> dict[str, bool]:
    """Whether each running client's WebSocket is up (client name -> active), for the gap watch."""
    from nautilus_trader.model.identifiers import ClientId

    clients = node.kernel.data_engine._clients  # noqa: SLF001 - nautilus has no public accessor
    states = {}
    for name, attribute in ((OKX_CLIENT, "_ws_client"), (KRAKEN_CLIENT, "_ws_client_spot")):
        client = clients.get(ClientId(name))
        socket = getattr(client, attribute, None) if client is not None else None
        if socket is not None and client.is_connected:
            states[name] = bool(socket.is_active())
    return states
