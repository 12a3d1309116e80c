"""`ravebear optimize RUNFILE SPACE`: search a run file's parameters (grid, random, TPE), optionally walk-forward,
with local worker processes or a shared PostgreSQL study (docs/OPTIMIZE.md)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from ravebear.platform.cli.common import catalog_option, fail

STORAGE_ENV = "RAVEBEAR_STUDY_STORAGE"


@click.command()
@click.argument("run_file", type=click.Path(dir_okay=False))
@click.argument("space_file", type=click.Path(dir_okay=False))
@catalog_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output folder (default: var/optimize/<study>).")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Local worker processes (default: the CPU count).")
@click.option("--storage", default=None, help=f"Shared study storage URL, e.g. postgresql+psycopg://user@host/db (default: ${STORAGE_ENV}, else a journal file in --out); the password may come from $RAVEBEAR_STUDY_PASSWORD.")
@click.option("--study", "study_name", default=None, help="Study name; the same name continues a killed or shared study (default: <run name>-<space file name>).")
@click.option("--trials", type=click.IntRange(1), default=None, help="Trials per study (per fold); overrides optimize.trials.")
@click.option("--sampler", type=click.Choice(["grid", "random", "tpe"]), default=None, help="Overrides optimize.sampler.")
@click.option("--objective", "objectives", multiple=True, help="Objective(s); several make a Pareto front. Overrides optimize.objectives.")
@click.option("--seed", type=int, default=None, help="Sampler seed; overrides optimize.seed.")
def optimize(run_file: str, space_file: str, catalog_path: str | None, out_dir: str | None, workers: int | None, storage: str | None,
             study_name: str | None, trials: int | None, sampler: str | None, objectives: tuple[str, ...], seed: int | None) -> None:  # fmt: skip
    """Search a run file's parameters over a SPACE file and write the best run file, results.json and report.html."""
    import yaml

    from ravebear.optimize.settings import parse_settings
    from ravebear.optimize.space import Space, parse_space
    from ravebear.platform.nodes.backtest import check_data_available
    from ravebear.platform.nodes.run_file import ConfigError, load_run_file

    try:
        config, text = load_run_file(run_file)
        if not Path(space_file).is_file():
            raise ConfigError(f"{space_file}: no such space file")
        run_raw = yaml.safe_load(text)
        space = parse_space(Path(space_file).read_text(), run_raw, space_file)
        overrides = {k: v for k, v in (("trials", trials), ("sampler", sampler), ("seed", seed), ("objectives", list(objectives) or None)) if v is not None}
        if overrides:
            space = Space(space.params, parse_settings({**space.settings.model_dump(exclude_none=True), **overrides}, "command line"))
            if space.settings.sampler == "grid":
                space.grid_points()
    except ConfigError as exc:
        fail(str(exc), code=2)
    from ravebear.platform.cli.common import open_catalog

    store = open_catalog(catalog_path or config.run.catalog_path)
    try:
        check_data_available(config, store)
        start, end = _window(config, store)
    except ConfigError as exc:
        fail(str(exc), code=2)
    name = study_name or f"{config.run.name}-{Path(space_file).stem}"
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,100}", name):
        fail(f"--study {name!r}: use letters, digits, '.', '_' and '-' only", code=2)
    out = Path(out_dir) if out_dir else Path("var") / "optimize" / name
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {out}: cannot create it ({exc.strerror or exc})", code=2)
    storage = storage or os.environ.get(STORAGE_ENV) or str(out / "study.journal")
    from ravebear.optimize.engine import OptimizeRequest
    from ravebear.optimize.engine import optimize as run_optimize
    from ravebear.optimize.study import shown_url

    request = OptimizeRequest(Path(run_file), run_raw, Path(space_file), space, store.path.resolve(), out, start, end, name, storage, workers or os.cpu_count() or 1)
    shown = shown_url(storage) if "://" in storage else storage
    click.echo(f"optimize {name}: {len(space.params)} params, {space.settings.sampler}, objectives {', '.join(space.settings.objectives)}, "
               f"{request.workers} worker(s), study on {shown}, data {start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC")  # fmt: skip
    tty = sys.stderr.isatty()

    def show(line: str) -> None:
        click.echo(("\r" + line.ljust(100)) if tty and "trials" in line else line, err=True, nl=not tty or "trials" not in line)

    try:
        results = run_optimize(request, show)
    except ConfigError as exc:
        fail(str(exc), code=2)
    except Exception as exc:  # noqa: BLE001 - storage unreachable, a study of another shape: one line, exit 1
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "://" in storage:
            from ravebear.optimize.study import storage_url

            message = message.replace(storage_url(storage), shown)
        fail(f"optimize {name}: {type(exc).__name__}: {message}")
    if tty:
        click.echo("", err=True)
    _print_outcome(results, out)
    if not results.get("chosen"):
        sys.exit(1)


def _window(config, store):
    """The data window: the run file's data start/end, else the span every bar series of the run covers."""
    import pandas as pd

    from ravebear.catalog.store import one_minute_bar_type
    from ravebear.platform.nodes.run_file import ConfigError, utc_ns

    starts, ends = [], []
    for data in config.data:
        if data.kind != "bars":
            continue
        opens = store.stored_open_times(data.bar_type or one_minute_bar_type(data.instrument_id))
        first, last = pd.Timestamp(int(opens[0]), unit="ms", tz="UTC"), pd.Timestamp(int(opens[-1]) + 60_000, unit="ms", tz="UTC")
        starts.append(pd.Timestamp(utc_ns(data.start), tz="UTC") if data.start else first)
        ends.append(pd.Timestamp(utc_ns(data.end), tz="UTC") if data.end else last)
    if not starts:
        raise ConfigError("data: the run file has no bars entry to take the optimisation window from")
    return max(starts), min(ends)


def _print_outcome(results: dict, out: Path) -> None:
    for entry in results["folds"]:
        label = f"fold {entry['fold']['fold'] + 1}" if entry["fold"] else "study"
        if "error" in entry:
            click.echo(f"{label}: {entry['error']}")
            continue
        dsr, pbo = entry.get("dsr") or {}, entry.get("pbo") or {}
        pbo_text = f"{pbo['pbo']:.2f}" if pbo.get("pbo") is not None else "n/a"
        click.echo(f"{label}: {entry['feasible']}/{entry['tried']} feasible; chosen trial {entry['chosen']['number']} {entry['chosen']['params']}; "
                   f"DSR {dsr.get('dsr', float('nan')):.3f}, PBO {pbo_text}")  # fmt: skip
    if "oos_return_pct" in results:
        click.echo(f"walk-forward out-of-sample return {results['oos_return_pct']:+.2f} %")
    if results.get("chosen"):
        click.echo(f"best run file: {Path(results['chosen']['run_file']).resolve()}")
    click.echo(f"report:        {(out / 'report.html').resolve()}")
    click.echo(f"results:       {(out / 'results.json').resolve()}")
