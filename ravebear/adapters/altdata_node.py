"""Build a paper TradingNode from YAML: OKX market data, sandbox execution and the alternative-data adapters.

`build_trading_node_config(path)` validates the file (unknown keys are errors naming the key)
and returns a `TradingNodeConfig`; `build_node(path)` also registers the client factories
and builds the node. Secrets come from environment variables only (see config/paper_altdata.yaml).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from nautilus_trader.live.config import TradingNodeConfig
    from nautilus_trader.live.node import TradingNode

OKX = "OKX"
OKX_ENV_VARS = ("OKX_API_KEY", "OKX_API_SECRET", "OKX_API_PASSPHRASE")


class NodeFileError(ValueError):
    """A node YAML that cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NodeSection(_Section):
    """The trading node itself."""

    trader_id: str = "PAPER-001"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    timeout_connection_s: float = Field(30.0, gt=0)  # seconds to wait for every client to connect
    timeout_disconnection_s: float = Field(10.0, gt=0)  # seconds
    timeout_post_stop_s: float = Field(5.0, ge=0)  # seconds


class OkxSection(_Section):
    """OKX public market data."""

    instrument_types: list[Literal["SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"]] = ["SWAP"]
    instrument_ids: list[str] | None = None  # instruments to load (None: every one of the types)
    environment: Literal["LIVE", "DEMO"] = "LIVE"
    base_url_http: str | None = None  # REST override (tests, proxies)
    base_url_ws: str | None = None  # WebSocket override


class SandboxSection(_Section):
    """Simulated execution against the live data (nautilus sandbox client)."""

    venue: str = OKX
    starting_balances: list[str] = ["10000 USDT"]
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["MARGIN", "CASH"] = "MARGIN"
    default_leverage: float = Field(10.0, gt=0)


class ActorSection(_Section):
    """An actor by import path."""

    actor_path: str  # "module:Class"
    config_path: str  # "module:ConfigClass"
    config: dict[str, Any] = {}


class PaperAltDataFile(_Section):
    """The whole YAML file. Adapter sections hold the fields of that adapter's config class."""

    node: NodeSection = NodeSection()
    okx: OkxSection | None = None
    sandbox: SandboxSection | None = None
    coinalyze: dict[str, Any] | None = None
    whale_alert: dict[str, Any] | None = None
    stablecoins: dict[str, Any] | None = None
    actors: list[ActorSection] = []


def _adapters() -> dict[str, tuple[str, type, type]]:
    """Return {yaml section: (client name, config class, factory class)}."""
    from ravebear.adapters.coinalyze.config import CoinalyzeDataClientConfig
    from ravebear.adapters.coinalyze.constants import COINALYZE
    from ravebear.adapters.coinalyze.factories import CoinalyzeLiveDataClientFactory
    from ravebear.adapters.stablecoins.config import StablecoinsDataClientConfig
    from ravebear.adapters.stablecoins.constants import STABLECOINS
    from ravebear.adapters.stablecoins.factories import StablecoinsLiveDataClientFactory
    from ravebear.adapters.whale_alert.config import WhaleAlertDataClientConfig
    from ravebear.adapters.whale_alert.constants import WHALE_ALERT
    from ravebear.adapters.whale_alert.factories import WhaleAlertLiveDataClientFactory

    return {
        "coinalyze": (COINALYZE, CoinalyzeDataClientConfig, CoinalyzeLiveDataClientFactory),
        "whale_alert": (WHALE_ALERT, WhaleAlertDataClientConfig, WhaleAlertLiveDataClientFactory),
        "stablecoins": (STABLECOINS, StablecoinsDataClientConfig, StablecoinsLiveDataClientFactory),
    }


def load_node_file(path: str | Path) -> PaperAltDataFile:
    """Read and validate a paper node YAML."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise NodeFileError(f"{path}: {exc}") from None
    try:
        return PaperAltDataFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors())
        raise NodeFileError(f"{path}: {problems}") from None


def adapter_config(section: str, values: dict[str, Any], source: str = "") -> Any:
    """Validate one adapter section into its frozen config class (unknown keys named)."""
    import msgspec

    _, config_cls, _ = _adapters()[section]
    try:
        return config_cls.parse(json.dumps(values))
    except msgspec.ValidationError as exc:
        raise NodeFileError(f"{source}{': ' if source else ''}{section}: {exc}") from None


def build_trading_node_config(path: str | Path) -> TradingNodeConfig:
    """Return the TradingNodeConfig a paper node YAML describes."""
    from nautilus_trader.config import ImportableActorConfig, InstrumentProviderConfig, LoggingConfig
    from nautilus_trader.live.config import TradingNodeConfig

    file = load_node_file(path)
    data_clients: dict[str, Any] = {}
    exec_clients: dict[str, Any] = {}
    if file.okx is not None:
        data_clients[OKX] = _okx_config(file.okx, InstrumentProviderConfig)
    if file.sandbox is not None:
        from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig

        sandbox = file.sandbox
        exec_clients[sandbox.venue] = SandboxExecutionClientConfig(
            venue=sandbox.venue, starting_balances=list(sandbox.starting_balances), oms_type=sandbox.oms_type,
            account_type=sandbox.account_type, default_leverage=Decimal(str(sandbox.default_leverage)),
        )  # fmt: skip
    for section, (name, _, _) in _adapters().items():
        values = getattr(file, section)
        if values is not None:
            data_clients[name] = adapter_config(section, values, str(path))
    node = file.node
    return TradingNodeConfig(
        trader_id=node.trader_id,
        logging=LoggingConfig(log_level=node.log_level),
        data_clients=data_clients,
        exec_clients=exec_clients,
        actors=[ImportableActorConfig(actor_path=a.actor_path, config_path=a.config_path, config=a.config) for a in file.actors],
        timeout_connection=node.timeout_connection_s,
        timeout_disconnection=node.timeout_disconnection_s,
        timeout_post_stop=node.timeout_post_stop_s,
    )


def _okx_config(section: OkxSection, provider_config: type) -> Any:
    from nautilus_trader.adapters.okx.config import OKXDataClientConfig
    from nautilus_trader.core.nautilus_pyo3 import OKXEnvironment, OKXInstrumentType

    load_ids = frozenset(section.instrument_ids) if section.instrument_ids else None
    return OKXDataClientConfig(
        instrument_types=tuple(getattr(OKXInstrumentType, t) for t in section.instrument_types),
        instrument_provider=provider_config(load_all=load_ids is None, load_ids=load_ids),
        environment=getattr(OKXEnvironment, section.environment),
        base_url_http=section.base_url_http,
        base_url_ws=section.base_url_ws,
    )


def register_factories(node: TradingNode, config: TradingNodeConfig) -> None:
    """Register the client factories every configured client needs."""
    names = {name: factory for name, _, factory in _adapters().values()}
    for name in config.data_clients:
        if name == OKX:
            from nautilus_trader.adapters.okx.factories import OKXLiveDataClientFactory

            node.add_data_client_factory(OKX, OKXLiveDataClientFactory)
        elif name in names:
            node.add_data_client_factory(name, names[name])
    for name in config.exec_clients:
        from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory

        node.add_exec_client_factory(name, SandboxLiveExecClientFactory)


def build_node(path: str | Path) -> TradingNode:
    """Build (not run) the TradingNode a paper node YAML describes; missing credentials are errors naming the variable."""
    import os

    from nautilus_trader.live.node import TradingNode

    config = build_trading_node_config(path)
    if OKX in config.data_clients:
        missing = [name for name in OKX_ENV_VARS if not os.environ.get(name)]
        if missing:
            raise NodeFileError(f"the OKX data client needs the environment variables {', '.join(missing)}")
    node = TradingNode(config=config)
    register_factories(node, config)
    node.build()
    return node
