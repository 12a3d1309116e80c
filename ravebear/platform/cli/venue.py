"""`ravebear venue okx-sim`: the local OKX v5 venue, to rehearse a live config before arming it against OKX."""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from ravebear.platform.cli.common import HelpGroup, fail, utc_ms
from ravebear.platform.nodes.okx_keys import OKX_KEYS, missing_okx_keys


class UsdtAmount(click.ParamType):
    """A positive amount of USDT, as a Decimal."""

    name = "usdt"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Decimal:
        """Return the amount; a word, zero, a negative or an infinite number is a usage error."""
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"not a number of USDT: {value!r}", param, ctx)
        if not amount.is_finite() or amount <= 0:
            self.fail(f"must be more than 0 USDT, got {value}", param, ctx)
        return amount


@click.group(cls=HelpGroup)
def venue() -> None:
    """Local venues that speak an exchange's API."""


def _utc_ms(text: str | None, name: str) -> int | None:
    if text is None:
        return None
    try:
        return utc_ms(text)
    except ValueError:
        fail(f"--{name}: not a date/time: {text!r} (e.g. 2026-07-27 or '2026-07-27 12:20')", 2)


@venue.command("okx-sim")
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default=None, help="Folder of 1-minute OKX candle parquet files (default: the bundled sample).")
@click.option("--instruments", default="BTC-USDT-SWAP,ETH-USDT-SWAP,SOL-USDT-SWAP", show_default=True, help="Comma-separated OKX swaps to list and replay.")
@click.option("--start", default=None, help="UTC date/time where the price path starts (default: the data's first candle).")
@click.option("--end", default=None, help="UTC date/time where it ends (default: the data's last candle).")
@click.option("--balance", type=UsdtAmount(), default="10000", show_default=True, metavar="USDT", help="USDT in the account at start.")
@click.option("--leverage", type=click.IntRange(1, 100), default=10, show_default=True, help="Account leverage for margin checks.")
@click.option("--port", type=click.IntRange(0, 65535), default=18999, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
@click.option("--step", "step_s", type=click.FloatRange(0), default=60.0, show_default=True, metavar="SECONDS", help="Wall seconds per minute of the path (60: real time).")
@click.option("--settle", "settle_s", type=click.FloatRange(0), default=0.0, show_default=True, metavar="SECONDS", help="Also wait until clients were quiet this long before the next minute.")
@click.option("--start-now", is_flag=True, help="Play at once instead of waiting for a client to subscribe to candles or trades.")
@click.option("--historical-time", is_flag=True, help="Stamp candles, orders and fills with the data's own times (default: replayed from the current minute).")
@click.option("--session", "session_path", default=None, metavar="CAPTURE",
              help="Serve trades, books and bbo-tbt from a recorded Binance spot or USD-M capture (its prefix or one of its "
                   "_trades/_depthdiff/_depthsnap files), re-priced to the candles. Default: four candle trades a minute, no book.")
@click.option("--session-instrument", default=None, help="The swap the session plays on (default: the first of --instruments).")
@click.option("--session-speed", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True, metavar="X",
              help="Recorded seconds played per wall second.")
@click.option("--book-depth", type=click.IntRange(1, 400), default=400, show_default=True, help="Levels per side in `books` (OKX: 400).")
def okx_sim(data_dir: str | None, instruments: str, start: str | None, end: str | None, balance: Decimal, leverage: int, port: int, step_s: float,
            settle_s: float, start_now: bool, historical_time: bool, session_path: str | None, session_instrument: str | None,
            session_speed: float, book_depth: int) -> None:
    """Serve a local OKX v5 venue (REST + WebSockets) that fills orders on real candles.

    It checks signatures with OKX_API_KEY / OKX_API_SECRET / OKX_API_PASSPHRASE (environment or .env):
    run `ravebear live` with the same keys and node.okx.base_url_http / base_url_ws pointing here.
    """  # fmt: skip
    from ravebear.simulators.okx_venue.auth import Credentials
    from ravebear.simulators.okx_venue.price_path import PricePathError
    from ravebear.simulators.okx_venue.runner import VenueSettings, serve_forever
    from ravebear.simulators.okx_venue.server import PlayerSettings
    from ravebear.simulators.okx_venue.session_player import SessionSettings

    missing = missing_okx_keys()
    if missing:
        fail(f"set {', '.join(missing)} (environment or .env): the venue checks every signature with the keys the node will use", 2)
    cash = balance
    settings = VenueSettings(
        inst_ids=tuple(i.strip() for i in instruments.split(",") if i.strip()),
        start_ms=_utc_ms(start, "start"), end_ms=_utc_ms(end, "end"), balance=cash, leverage=leverage, port=port,
        creds=Credentials(*(os.environ[name] for name in OKX_KEYS)), rebase=not historical_time,
        player=PlayerSettings(step_s=step_s, settle_s=settle_s, start_on_subscribe=not start_now),
    )  # fmt: skip
    if data_dir:
        settings.data_dir = Path(data_dir)
    if session_path:
        inst_id = session_instrument or settings.inst_ids[0]
        if inst_id not in settings.inst_ids:
            fail(f"--session-instrument {inst_id} is not one of --instruments ({', '.join(settings.inst_ids)})", 2)
        settings.session = SessionSettings(Path(session_path), inst_id, speed=session_speed, depth=book_depth)

    def ready(venue, bound: int) -> None:  # noqa: ANN001
        path = venue.path
        first, last = path.data_window
        when = f", replayed from {_iso(path.steps[0].ts)}" if path.shift_ms else ""
        click.echo(f"OKX sim venue on 127.0.0.1:{bound}: {', '.join(settings.inst_ids)}, {len(path.steps):,} minutes of real candles "
                   f"({_iso(first)} .. {_iso(last)}{when}), {cash} USDT at {leverage}x")  # fmt: skip
        if venue.session is not None:
            played = venue.session.session
            click.echo(f"recorded session on {venue.session.inst_id}: {Path(played.source).name}, {played.trades:,} trades, "
                       f"{played.duration_ns / 1e9:.0f} s at {session_speed}x, books {book_depth} levels (loops)")  # fmt: skip
        click.echo("in the run config:")
        click.echo(f"  node: {{data: okx, okx: {{base_url_http: 'http://127.0.0.1:{bound}', base_url_ws: 'ws://127.0.0.1:{bound}/ws/v5/public'}}}}")
        click.echo("operator: GET /sim/status, GET /sim/ledger, POST /sim/pause|resume|step?n=N, POST /sim/faults {target, kind, match}")
        click.echo("waiting for a node to subscribe to candles..." if not start_now else "playing")

    try:
        serve_forever(settings, ready)
    except (ValueError, PricePathError) as error:  # SessionError too
        fail(str(error), 2)
    except OSError as error:
        fail(f"cannot serve on 127.0.0.1:{port}: {error.strerror or error}", 1)


def _iso(ms: int) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))
