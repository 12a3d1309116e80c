"""`ravebear alerts`: check a run file's Discord channels before a node relies on them, and see what waits undelivered."""

from __future__ import annotations

from pathlib import Path

import click

from ravebear.platform.cli.common import HelpGroup, fail


@click.group(cls=HelpGroup)
def alerts() -> None:
    """Discord alerts of a run file's alerts: section (webhook URLs from the environment or .env)."""


def _alerts_config(path: str):  # noqa: ANN202 - AlertActorConfig, imported lazily
    from ravebear.platform.nodes.run_file import ConfigError, load_run_file

    try:
        config, _ = load_run_file(Path(path))
    except ConfigError as exc:
        fail(str(exc), code=2)
    if config.alerts is None:
        fail(f"{path}: no alerts: section (docs/ALERTS.md shows one)", code=2)
    from ravebear.platform.alerts.actor import AlertActorConfig

    return AlertActorConfig(**config.alerts)


class _Echo:
    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        click.echo(f"  {message}", err=True)

    error = warning


@alerts.command("test")
@click.argument("run_file", type=click.Path(dir_okay=False))
@click.option("--channel", "channels", multiple=True, help="Only this channel (repeatable); default: every channel of the file.")
def alerts_test(run_file: str, channels: tuple[str, ...]) -> None:
    """Send one test message to each channel and say how each went (exit 1 when any failed)."""
    import asyncio
    import time

    from ravebear.adapters.discord.alerts import Alert, AlertKind
    from ravebear.adapters.discord.clients import webhook_clients
    from ravebear.adapters.discord.payload import single_message

    config = _alerts_config(run_file)
    wanted = {name: var for name, var in config.channels.items() if not channels or name in channels}
    unknown = sorted(set(channels) - set(config.channels))
    if unknown:
        fail(f"unknown channel {', '.join(unknown)}; {run_file} has {', '.join(config.channels) or 'none'}", code=2)
    clients, warnings = webhook_clients(wanted, _Echo())
    failed = len(warnings)
    for warning in warnings:
        click.echo(f"not sent: {warning}")

    async def send_all() -> None:
        nonlocal failed
        for name, client in clients.items():
            alert = Alert(AlertKind.GUARD_RESUMED, "", f"RaveBear test message for #{name}", time.time_ns(), key="test",
                          description=f"Sent by `ravebear alerts test {Path(run_file).name}`: this channel's webhook ({client.env_var}) works.")
            result = await client.send(single_message(alert))
            await client.close()
            if result.outcome == "sent":
                click.echo(f"{name}: sent (message {result.message_id})")
            else:
                failed += 1
                click.echo(f"{name}: not sent: {result.detail}")

    asyncio.run(send_all())
    if failed:
        fail(f"{failed} of {len(wanted)} channels did not get the test message", code=1)


@alerts.command("pending")
@click.argument("run_file", type=click.Path(dir_okay=False))
def alerts_pending(run_file: str) -> None:
    """Alerts that could not be delivered and wait in the dead-letter file for the next node start."""
    import json

    config = _alerts_config(run_file)
    path = Path(config.dead_letter)
    lines = []
    for file in (path, path.with_name(path.name + ".replaying")):
        if file.is_file():
            lines += [line for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        click.echo(f"no undelivered alerts ({path})")
        return
    per_channel: dict[str, int] = {}
    reasons: dict[str, int] = {}
    unreadable = 0
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            unreadable += 1
            continue
        per_channel[row["channel"]] = per_channel.get(row["channel"], 0) + len(row["alerts"])
        reasons[row["reason"]] = reasons.get(row["reason"], 0) + len(row["alerts"])
    click.echo(f"{sum(per_channel.values())} undelivered alerts in {path} (sent at the next paper or live start):")
    for channel, count in sorted(per_channel.items()):
        click.echo(f"  {channel}: {count}")
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        click.echo(f"  {count} x {reason}")
    if unreadable:
        click.echo(f"  {unreadable} unreadable line(s) (kept in {path.name}.unreadable at the next start)")
