"""The run file: one YAML that a backtest, a paper node and a live node all run, validated into frozen typed
models that reject unknown keys by name."""

from __future__ import annotations

import difflib
import re
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ravebear.ranges import Range


class ConfigError(ValueError):
    """A config file that cannot be used, with a message naming the file and key."""


def _in(allowed: Range) -> AfterValidator:
    """A pydantic check that a number lies in `allowed` (the error names the range and its unit)."""

    def check(value: float | None) -> float | None:
        if value is not None and not allowed.allows(value):
            raise ValueError(allowed.message("", value).lstrip())
        return value

    return AfterValidator(check)


Leverage = Annotated[float, _in(Range(0, 125, "x", low_open=True))]
Probability = Annotated[float, _in(Range(0, 1, "(a probability)"))]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RunSection(_Section):
    """Where a run reads and writes."""

    name: str = "backtest"
    catalog_path: str | None = None  # None: $RAVEBEAR_CATALOG or var/catalog
    output_dir: str = "var/runs"  # each run gets its own folder below this
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "WARNING"
    tearsheet: bool = True  # write nautilus's HTML tearsheet into the run folder
    risk_report: bool = True  # write risk_report.html / .json into the run folder


class FillModelSection(_Section):
    """nautilus FillModel parameters."""

    prob_fill_on_limit: Probability = 1.0  # chance a limit at the bar's extreme fills
    prob_slippage: Probability = 0.0  # chance a market-type fill slips one tick
    random_seed: int = 42


class VenueSection(_Section):
    """The simulated OKX venue."""

    name: str = "OKX"
    oms_type: Literal["NETTING", "HEDGING"] = "NETTING"
    account_type: Literal["MARGIN", "CASH"] = "MARGIN"  # CASH for spot pairs: no leverage, no shorting
    starting_balance: str = "10000 USDT"  # "<amount> <currency>"
    default_leverage: Leverage = 10.0  # venue leverage used for margin
    leverages: dict[str, Leverage] = Field(default_factory=dict)  # per instrument id
    # None: the instrument's fee (OKX Lv1: maker 2 bps, taker 5 bps); a negative maker fee is a rebate
    maker_fee_bps: Annotated[float | None, _in(Range(-10, 100, "bps", note="negative = a rebate"))] = None
    taker_fee_bps: Annotated[float | None, _in(Range(0, 100, "bps"))] = None
    fill_model: FillModelSection = FillModelSection()

    @field_validator("starting_balance")
    @classmethod
    def _money(cls, value: str) -> str:
        if not re.fullmatch(r"\s*\d+(\.\d+)?\s+[A-Z]{2,10}\s*", value):
            raise ValueError(f"expected '<amount> <CURRENCY>' such as '10000 USDT', got {value!r}")
        if float(value.split()[0]) <= 0:
            raise ValueError(f"must be above 0, got {value.strip()!r}")
        return value.strip()


DATA_KINDS = ("bars", "trades", "book", "quotes")  # bars; TradeTick; L2 OrderBookDelta; QuoteTick


class DataSection(_Section):
    """One series from the catalog: bars (the default), trades, L2 book deltas or quotes."""

    instrument_id: str  # e.g. BTC-USDT-SWAP.OKX
    kind: Literal["bars", "trades", "book", "quotes"] = "bars"
    bar_type: str | None = None  # kind bars only; default: the instrument's 1-minute external bars
    start: str | None = None  # ISO date/time, UTC
    end: str | None = None  # ISO date/time, UTC

    @field_validator("kind", mode="before")
    @classmethod
    def _kind(cls, value: Any) -> Any:
        if value not in DATA_KINDS:
            close = difflib.get_close_matches(str(value), DATA_KINDS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise ValueError(f"unknown data kind {value!r}{hint}; allowed: {', '.join(DATA_KINDS)}")
        return value

    @model_validator(mode="after")
    def _bar_type_only_for_bars(self) -> DataSection:
        if self.bar_type is not None and self.kind != "bars":
            raise ValueError(f"bar_type applies to kind bars only, this entry is kind {self.kind}")
        return self

    @field_validator("start", "end", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, (date, datetime)):  # YAML reads 2026-07-27 as a date; keep it as ISO text
            return value.isoformat()
        if value is None:
            return None
        try:
            datetime.fromisoformat(str(value))
            utc_ns(str(value))  # what the nodes use: must read it the same way
        except ValueError:
            raise ValueError(f"expected an ISO date or date/time in UTC such as 2026-07-27 or 2026-07-27T12:00, got {value!r}") from None
        return str(value)


class StrategySection(_Section):
    """A strategy by import path, with its own config; `instruments` runs one copy per instrument."""

    strategy_path: str  # "module:Class"
    config_path: str | None = None  # "module:ConfigClass"; default: strategy_path + "Config"
    config: dict[str, Any] = Field(default_factory=dict)
    instruments: dict[str, dict[str, Any]] = Field(default_factory=dict)  # instrument id -> config overrides

    @property
    def component_path(self) -> str:
        """The class's import path."""
        return self.strategy_path

    def expanded(self) -> list[dict[str, Any]]:
        """Return one config per instrument (with `instrument_id` and a unique `order_id_tag`), or the config alone."""
        if not self.instruments:
            return [dict(self.config)]
        configs = []
        for number, (instrument_id, overrides) in enumerate(self.instruments.items(), start=1):
            merged = _deep_merge(self.config, overrides or {})
            merged["instrument_id"] = instrument_id
            merged.setdefault("order_id_tag", f"{number:03d}")
            configs.append(merged)
        return configs


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = _deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


class ActorSection(_Section):
    """An actor (e.g. the LevelActor) by import path, with its own config."""

    actor_path: str  # "module:Class"
    config_path: str | None = None  # "module:ConfigClass"; default: actor_path + "Config"
    config: dict[str, Any] = Field(default_factory=dict)

    @property
    def component_path(self) -> str:
        """The class's import path."""
        return self.actor_path


class AltDataSection(_Section):
    """Alternative data from the catalog, replayed with the bars (strategies read it via `alt_data_client`)."""

    types: list[Literal["OpenInterest", "FundingRate", "LongShortRatio", "Liquidation", "WhaleTransaction", "StablecoinSupply", "Dominance"]] = Field(default_factory=list)
    client_id: str = "ALTDATA"  # the strategies' alt_data_client


class SourcesSection(_Section):
    """Live alternative-data sources of paper and live nodes (backtests replay `alt_data` from the catalog instead).

    Each holds the fields of that adapter's config class (`ravebear.adapters.sources`); leave one out to run
    without it. API keys come from the environment or .env only: a source whose key is missing is left out
    with a warning, and the entry filter's `missing_data` policy decides for the data it would have served.
    """

    coinalyze: dict[str, Any] | None = None  # OI, funding, long/short ratio, liquidations (COINALYZE_API_KEY)
    whale_alert: dict[str, Any] | None = None  # whale transfers (WHALE_ALERT_API_KEY)
    stablecoins: dict[str, Any] | None = None  # stablecoin supply, USDT dominance (COINGECKO_API_KEY optional)

    def configured(self) -> dict[str, dict[str, Any]]:
        """The sources the file names, with their settings."""
        return {name: dict(values) for name, values in self.model_dump().items() if values is not None}


class FundingSection(_Section):
    """Perpetual funding charged in the backtest (nautilus's simulated venue charges none)."""

    rates: dict[str, str] = Field(default_factory=dict)  # instrument id -> parquet file (ts ms, funding_rate per period)
    from_catalog: bool = False  # also use FundingRate data (settled, not predicted) stored in the catalog


class RedisSection(_Section):
    """Where a paper or live node keeps its cache (orders, positions, account, strategy state)."""

    host: str = "127.0.0.1"
    port: int = Field(6379, ge=1, le=65535)
    flush_on_start: bool = False  # True wipes the trader's stored state at start (a fresh paper account)
    check_s: float = Field(1.0, gt=0, le=60)  # seconds between checks that Redis still answers (entries stop while it does not)


class OkxSection(_Section):
    """OKX connection of a node (keys come from OKX_API_KEY / OKX_API_SECRET / OKX_API_PASSPHRASE, never from here)."""

    environment: Literal["demo", "live"] = "demo"  # demo: OKX demo trading; live: real money
    margin_mode: Literal["cross", "isolated"] = "cross"
    base_url_http: str | None = None  # e.g. a local OKX venue for rehearsals and tests
    base_url_ws: str | None = None  # any of .../ws/v5/public|private|business: each client gets its own path


class NodeSection(_Section):
    """How `ravebear paper` / `ravebear live` run the same strategies (ignored by backtests)."""

    trader_id: str = "RAVEBEAR-001"  # NAME-NNN; a restart with the same id finds its state in Redis
    data: Literal["replay", "okx"] = "replay"  # replay: catalog data (offline); okx: OKX market data
    speed: float = Field(0.0, ge=0)  # replay speed: 0 as fast as the node takes it, N = N x real time
    redis: RedisSection | None = None  # None: in-memory cache (nothing survives a restart)
    okx: OkxSection = OkxSection()
    stop_action: Literal["flatten", "cancel", "keep"] = "cancel"  # Ctrl-C: close positions, cancel orders, or leave both at the venue
    dashboard: bool = True  # the in-place terminal view while the node runs
    reconciliation: bool = True  # reconcile orders and positions with the venue at start
    # live: compare the venue's positions with the node's every N s and reconcile again when they differ twice
    # in a row (nautilus 1.231 does not reconcile after a WebSocket reconnect: a fill pushed meanwhile is lost); 0 = off
    venue_check_s: Annotated[float, _in(Range(0, 3_600, "s", note="0 = off"))] = 5.0

    @field_validator("trader_id")
    @classmethod
    def _trader_id(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_]+-[0-9]{3}", value):
            raise ValueError(f"expected NAME-NNN such as 'RAVEBEAR-001', got {value!r}")
        return value


class RunFile(_Section):
    """A whole run file: what a backtest runs; `node` and `sources` add what paper and live nodes need."""

    run: RunSection = RunSection()
    venue: VenueSection = VenueSection()
    risk: dict[str, Any] = Field(default_factory=dict)  # account-wide GuardLimits; every strategy gets them as `guards`
    funding: FundingSection = FundingSection()
    alt_data: AltDataSection = AltDataSection()
    data: list[DataSection] = Field(min_length=1)
    node: NodeSection = NodeSection()
    sources: SourcesSection = SourcesSection()
    actors: list[ActorSection] = Field(default_factory=list)
    strategies: list[StrategySection] = Field(default_factory=list)
    # Discord alerts (platform/alerts/actor.py AlertActorConfig): sent by paper and live nodes, counted per day and
    # channel by backtests (shadow mode); webhook URLs come from the environment or .env, named here by variable
    alerts: dict[str, Any] | None = None
    # the event ledger (platform/ledger_feed/actor.py LedgerActorConfig; docs/LEDGER.md): touches with the market state,
    # signals, alerts, orders and fills in SQL, from every node; a URL with a password comes from RAVEBEAR_LEDGER_URL
    ledger: dict[str, Any] | None = None


def utc_ns(value: str | None) -> int | None:
    """UNIX ns of an ISO date/time of a run file (naive = UTC); None stays None."""
    if value is None:
        return None
    import pandas as pd

    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.value


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(f"[{part}]" if isinstance(part, int) else str(part) for part in loc).replace(".[", "[")


def _suggest(key: str, model: type[BaseModel] | None) -> str:
    if model is None:
        return ""
    close = difflib.get_close_matches(key, list(model.model_fields), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _section_model(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = RunFile
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        inner = getattr(annotation, "__args__", (annotation,))
        model = next((a for a in inner if isinstance(a, type) and issubclass(a, BaseModel)), None)
    return model


def _format_errors(source: str, error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        path = _dotted(item["loc"])
        if item["type"] == "extra_forbidden":
            key = str(item["loc"][-1])
            lines.append(f"unknown key '{path}'{_suggest(key, _section_model(item['loc']))}")
        elif item["type"] == "missing":
            lines.append(f"missing key '{path}'")
        else:
            message = item["msg"].removeprefix("Value error, ")
            lines.append(f"'{path}' {message}" if message.startswith("must be") else f"'{path}': {message}")
    return f"{source}: " + "; ".join(lines)


def load_yaml_mapping(text: str, source: str, expected: str) -> dict[str, Any]:
    """YAML text that must be a mapping; ConfigError (one line) for broken YAML or anything else, `expected` saying what."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())  # one line: what and where
        raise ConfigError(f"{source}: not valid YAML: {where}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected {expected}")
    return raw


def parse_run_file(text: str, source: str = "config") -> RunFile:
    """Parse and validate YAML text; raise ConfigError naming each bad key."""
    raw = load_yaml_mapping(text, source, "a mapping with 'run', 'venue', 'data' and 'strategies'")
    try:
        config = RunFile.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None
    if not config.strategies and not config.actors:
        raise ConfigError(f"{source}: nothing to run: add 'strategies' or 'actors'")
    _check_data_ranges(config, source)
    _check_instruments_under_data(config, source)
    from ravebear.platform.nodes.component_checks import check_component_config, check_risk, default_actor_instruments, source_config

    default_actor_instruments(config)

    check_risk(config.risk, f"{source}: risk")
    for name, values in config.sources.configured().items():
        source_config(name, values, f"{source}: sources.{name}")
    if config.alerts is not None:
        from ravebear.platform.alerts.composition import check_alerts

        check_alerts(config.alerts, f"{source}: alerts")
    if config.ledger is not None:
        from ravebear.platform.ledger_feed.composition import check_ledger

        check_ledger(config.ledger, f"{source}: ledger")
    for section, components in (("actors", config.actors), ("strategies", config.strategies)):
        for index, component in enumerate(components):
            check_component_config(component, f"{source}: {section}[{index}]", config.risk)
    return config


def _check_data_ranges(config: RunFile, source: str) -> None:
    """Each `data:` entry's start must come before its end."""
    for index, data in enumerate(config.data):
        if data.start is not None and data.end is not None and utc_ns(data.start) >= utc_ns(data.end):
            raise ConfigError(f"{source}: 'data[{index}].start' {data.start} is not before 'data[{index}].end' {data.end}")


def _check_instruments_under_data(config: RunFile, source: str) -> None:
    """Every instrument a strategy or actor trades or watches must be under `data:`, or it would get no bars."""
    known = [data.instrument_id for data in config.data]

    def check(instrument_id: Any, path: str) -> None:
        if instrument_id in known:
            return
        close = difflib.get_close_matches(str(instrument_id), known, n=1, cutoff=0.9)  # SOL-... is no typo of ETH-...
        hint = f" (did you mean '{close[0]}'?)" if close else " (add a data: entry for it)"
        raise ConfigError(f"{source}: '{path}' {instrument_id} is not under data:{hint}; data: has {', '.join(known)}")

    for index, strategy in enumerate(config.strategies):
        for number, instrument_id in enumerate(strategy.instruments):
            check(instrument_id, f"strategies[{index}].instruments[{number}]")
        if not strategy.instruments and "instrument_id" in strategy.config:
            check(strategy.config["instrument_id"], f"strategies[{index}].config.instrument_id")
    for index, actor in enumerate(config.actors):
        for number, instrument_id in enumerate(actor.config.get("instrument_ids") or ()):
            check(instrument_id, f"actors[{index}].config.instrument_ids[{number}]")
        reference = actor.config.get("reference")  # the SwarmActor's reference instruments: their bars must come too
        for instrument_id, other in (reference.items() if isinstance(reference, dict) else ()):
            check(other, f"actors[{index}].config.reference.{instrument_id}")


def load_run_file(path: str | Path) -> tuple[RunFile, str]:
    """Read and validate a run file; return the model and the file's text."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    text = path.read_text()
    return parse_run_file(text, str(path)), text
