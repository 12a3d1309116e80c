"""The paper node's venue: nautilus's sandbox execution client, fixed for bar data and restarts (nautilus 1.231).

What the stock `SandboxExecutionClient` gets wrong for RaveBear, each seen in a run:
- it listens to `data.*.{venue}.*`, which bar topics (`data.bars.<bar type>`) do not match, so on
  bars alone every order is rejected "no market": this client also takes the venue's EXTERNAL
  bars, ahead of the strategies (priority), so the market has moved when a strategy sees the bar;
- a live node queues the venue's events, so a bracket's reduce-only stop reaches the matching
  engine before the entry's fill opened the position and is rejected, and a trailing stop with an
  activation price crashes the node when it activates: `make_events_synchronous` applies venue
  events at once, as a backtest does;
- after a restart with a Redis cache the account starts from `starting_balances` again and the
  restored working orders are not in the new matching engine (a restored stop never fires): this
  client continues from the stored balances and re-arms the stored open orders.
- it always fills with a default `FillModel()` (no slippage, reseeding Python's global `random`
  from entropy): this client installs the run file's fill model (`BarSandboxConfig.fill_model`),
  built after the stock one so its seed is the last word, so a replay slips the very fills the
  backtest slips (docs/NOTES.md, "fill model draws").
With an L2 book (`book_type: L2_MBP`, set by the composer when a paper replay streams a `kind: book` entry) the
stock client already does what the backtest venue does: it takes the venue's deltas (`data.book.deltas.<venue>.*`
matches its `data.*.<venue>.*`), keeps the matching engine's L2 book and ignores bars (nautilus fills bars on L1 only).
The restored account must also be a *calculated* account (`register_calculated_account`, done by
the node builder before the kernel loads the cache), or fills stop updating its balance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.execution import SandboxExecutionClient
from nautilus_trader.backtest.config import FillModelFactory, ImportableFillModelConfig
from nautilus_trader.live.factories import LiveExecClientFactory
from nautilus_trader.model.data import Bar
from nautilus_trader.model.identifiers import AccountId


class BarSandboxConfig(SandboxExecutionClientConfig, frozen=True, kw_only=True):
    """The stock sandbox config plus the fill model the backtest venue uses."""

    fill_model: ImportableFillModelConfig | None = None  # None: nautilus's default (never slips)


class BarSandboxExecutionClient(SandboxExecutionClient):
    """Sandbox execution that fills on bars and survives a restart; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, portfolio: Any, msgbus: Any, cache: Any, clock: Any, config: SandboxExecutionClientConfig) -> None:
        account = cache.account(AccountId(f"{config.venue}-001"))  # loaded from Redis when the kernel started
        if account is not None:
            config = msgspec.structs.replace(config, starting_balances=[str(balance.total) for balance in account.balances().values()])
        super().__init__(loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config)
        if isinstance(config, BarSandboxConfig) and config.fill_model is not None:
            # seeds Python's global `random` as the backtest venue's does; no matching engine exists yet,
            # so every engine add_instrument builds gets this model
            self.exchange.set_fill_model(FillModelFactory.create(config.fill_model))
        # called with each submit command as it reaches the venue (latency benchmark); returning False
        # drops the command: the venue never answers (tests of the stalled-feed watchdog)
        self.submit_hook = None

    def connect(self) -> None:
        """Connect, take the venue's bars, and re-arm open orders restored from the cache."""
        super().connect()
        # the venue's trades, quotes and book deltas too move the market before any strategy or actor sees them, as
        # in a backtest (the exchange, then the data engine); the stock client subscribed them at priority 0
        self._msgbus.unsubscribe(f"data.*.{self.venue}.*", handler=self.on_data)
        self._msgbus.subscribe(f"data.*.{self.venue}.*", handler=self.on_data, priority=10)
        self._msgbus.subscribe("data.bars.*", handler=self._on_bar, priority=10)  # before the strategies (priority 0)
        for order in self._cache.orders_open(venue=self.venue):
            engine = self.exchange.get_matching_engine(order.instrument_id)
            if engine is None:
                instrument = self._cache.instrument(order.instrument_id)
                if instrument is None:
                    self._log.error(f"cannot re-arm {order.client_order_id}: instrument {order.instrument_id} not in the cache")
                    continue
                self.exchange.add_instrument(instrument)
                engine = self.exchange.get_matching_engine(order.instrument_id)
            engine.accept_order(order)  # already ACCEPTED: this only puts it back into the matching core
            self._log.info(f"re-armed {order.client_order_id} {order.order_type.name} {order.side.name} {order.quantity}")

    def make_events_synchronous(self, exec_engine: Any) -> None:
        """Apply venue events to orders at once (a live ExecEngine only queues them)."""
        self._msgbus.deregister("ExecEngine.process", exec_engine.process)
        self._msgbus.register("ExecEngine.process", exec_engine._handle_event_with_tracking)  # noqa: SLF001 - the engine's own handler

    def submit_order(self, command: Any) -> None:
        """Submit to the simulated venue (and tell the hook, which may drop the command)."""
        if self.submit_hook is not None and self.submit_hook(command) is False:
            return
        super().submit_order(command)

    def submit_order_list(self, command: Any) -> None:
        """Submit an order list (a bracket) to the simulated venue (and tell the hook, which may drop the command)."""
        if self.submit_hook is not None and self.submit_hook(command) is False:
            return
        super().submit_order_list(command)

    def _on_bar(self, bar: Bar) -> None:
        if bar.bar_type.instrument_id.venue == self.venue and bar.bar_type.is_externally_aggregated():
            self.on_data(bar)  # the matching engine plays the bar's open/high/low/close, then the venue clock moves


def fee_differences(maker_bps: float | None, taker_bps: float | None, instrument_ids: list[str]) -> str | None:
    """Where the run file's fee rates differ from the instruments' (the sandbox charges the instruments'), in one sentence; None when they agree.

    nautilus 1.231's sandbox builds its exchange with `MakerTakerFeeModel()` and `SimulatedExchange.fee_model`
    has no setter, so a paper node cannot take the backtest's `BpsFeeModel` (docs/NOTES.md, issue 13).
    """
    from ravebear.catalog.instruments import instrument_for

    differ = []
    for instrument_id in instrument_ids:
        try:
            instrument = instrument_for(instrument_id)
        except (KeyError, ValueError):  # not a bundled definition: the replay names it when it cannot load it
            continue
        for name, bps, rate in (("maker", maker_bps, instrument.maker_fee), ("taker", taker_bps, instrument.taker_fee)):
            if bps is not None and abs(float(rate) * 10_000 - bps) > 1e-9:
                differ.append(f"{instrument.id} {name} {float(rate) * 10_000:g} bps (venue.{name}_fee_bps {bps:g})")
    if not differ:
        return None
    return "the paper sandbox charges each instrument's own fee rates, not the run file's: " + ", ".join(differ) + "; fees, equity and sizing will differ from a backtest"


class SandboxLiveExecClientFactory(LiveExecClientFactory):
    """Factory of `BarSandboxExecutionClient`.

    The class name must stay `SandboxLiveExecClientFactory`: nautilus's node builder passes the
    portfolio only to a factory of exactly that name (live/node_builder.py, 1.231).
    """

    @staticmethod
    def create(loop: asyncio.AbstractEventLoop, name: str, config: SandboxExecutionClientConfig, portfolio: Any, msgbus: Any, cache: Any, clock: Any) -> BarSandboxExecutionClient:  # noqa: PLR0913
        """Return the sandbox client."""
        return BarSandboxExecutionClient(loop=loop, portfolio=portfolio, msgbus=msgbus, cache=cache, clock=clock, config=config)
