"""`ravebear catalog instrument ...`: instrument definitions from the exchange's own metadata, kept in the catalog."""

from __future__ import annotations

import click

from ravebear.platform.cli.common import HelpGroup, catalog_option, fail, open_catalog

OKX_EXCHANGE = "okx"  # OKX:... goes to OKX's own public/instruments endpoint; any other prefix is a ccxt exchange id


@click.group("instrument", cls=HelpGroup)
def instrument() -> None:
    """Add instrument definitions from the exchange's own metadata, and list the known ones.

    The nine bundled definitions (BTC/ETH/SOL OKX swaps, Binance spot and USD-M) work offline; any
    other instrument is fetched once with `add` and kept in the catalog, where imports, downloads,
    backtests and paper replays find it.
    """


def _split(spec: str) -> tuple[str, str]:
    exchange, sep, symbol = spec.partition(":")
    if not sep or not exchange or not symbol:
        fail(f"{spec!r}: give EXCHANGE:SYMBOL, e.g. OKX:DOGE-USDT-SWAP, OKX:DOGE-USDT or binance:BTC/USDT", 2)
    return exchange.lower(), symbol


def _describe(inst) -> str:
    kind = type(inst).__name__
    unit = "contracts" if kind == "CryptoPerpetual" else inst.base_currency.code
    fees = f"maker {float(inst.maker_fee) * 10_000:g} bps, taker {float(inst.taker_fee) * 10_000:g} bps"
    return (
        f"{kind}, tick {inst.price_increment}, lot {inst.size_increment} {unit}, min {inst.min_quantity or inst.size_increment} {unit}, "
        f"multiplier {inst.multiplier}, settles in {inst.get_settlement_currency().code}, {fees}"
    )


@instrument.command("add")
@click.argument("specs", nargs=-1, required=True, metavar="INSTRUMENT...")
@click.option("--url", "rest_url", default=None, help="REST base URL override (e.g. a local test server).")
@click.option("--maker-fee-bps", type=float, default=None, help="Your maker fee tier, bps (default: OKX Lv1 / the ccxt market's).")
@click.option("--taker-fee-bps", type=float, default=None, help="Your taker fee tier, bps (default: OKX Lv1 / the ccxt market's).")
@catalog_option
def instrument_add(specs: tuple[str, ...], rest_url: str | None, maker_fee_bps: float | None, taker_fee_bps: float | None, catalog_path: str | None) -> None:
    """Fetch INSTRUMENT's definition (OKX:DOGE-USDT-SWAP, OKX:DOGE-USDT, binance:BTC/USDT, ...) into the catalog."""
    from ravebear.catalog.instrument_metadata import (
        OKX_LV1_FEES,
        FeeTier,
        InstrumentFetchError,
        UnknownInstrumentError,
        fetch_ccxt_instrument,
        fetch_okx_row,
        okx_inst_type,
        okx_instrument,
        okx_state_note,
        store_instrument,
    )
    from ravebear.catalog.instruments import bundled_ids

    for name, value in (("--maker-fee-bps", maker_fee_bps), ("--taker-fee-bps", taker_fee_bps)):
        if value is not None and not -100.0 <= value <= 100.0:
            fail(f"{name} {value:g}: a fee tier is between -100 and 100 bps", 2)
    parsed = [_split(spec) for spec in specs]
    store = open_catalog(catalog_path, writable=True)
    bundled = set(bundled_ids())
    for (exchange, symbol), spec in zip(parsed, specs, strict=True):
        try:
            if exchange == OKX_EXCHANGE:
                if f"{symbol}.OKX" in bundled:
                    click.echo(f"{symbol}.OKX: bundled (works offline); nothing fetched")
                    continue
                default = OKX_LV1_FEES[okx_inst_type(symbol)]
                fees = FeeTier(default.maker_bps if maker_fee_bps is None else maker_fee_bps, default.taker_bps if taker_fee_bps is None else taker_fee_bps)
                row = fetch_okx_row(symbol, rest_url)
                inst = okx_instrument(row, fees)
                note = okx_state_note(row)
                if note:
                    click.secho(f"warning: {note}", fg="yellow", err=True)
            else:
                fees = None
                if maker_fee_bps is not None or taker_fee_bps is not None:
                    fees = FeeTier(maker_fee_bps or 0.0, taker_fee_bps or 0.0)
                inst = fetch_ccxt_instrument(exchange, symbol, rest_url, fees)
            if inst.id.value in bundled:
                click.echo(f"{inst.id}: bundled (works offline); not stored")
                continue
            outcome = store_instrument(store, inst)
        except UnknownInstrumentError as exc:
            fail(f"{spec}: {exc}", 2)
        except InstrumentFetchError as exc:
            fail(f"{spec}: {exc}", 1)
        except OSError as exc:
            fail(f"{spec}: cannot write to the catalog at {store.path}: {exc.strerror or exc}", 1)
        click.echo(f"{inst.id}: {outcome} in {store.path} ({_describe(inst)})")


@instrument.command("list")
@catalog_option
def instrument_list(catalog_path: str | None) -> None:
    """List the bundled definitions and the ones the catalog keeps."""
    from ravebear.catalog.instruments import bundled_ids, bundled_instrument

    store = open_catalog(catalog_path)
    bundled = bundled_ids()
    click.echo(f"bundled ({len(bundled)}, offline):")
    for instrument_id in bundled:
        click.echo(f"  {instrument_id:<28} {_describe(bundled_instrument(instrument_id))}")
    stored = [i for i in store.instrument_ids() if i not in set(bundled)]
    click.echo(f"in the catalog at {store.path} ({len(stored)}):")
    for instrument_id in stored:
        click.echo(f"  {instrument_id:<28} {_describe(store.instrument(instrument_id))}")
    if not stored:
        click.echo("  none; add one with `ravebear catalog instrument add OKX:DOGE-USDT-SWAP`")
