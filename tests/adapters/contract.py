"""The contract every RaveBear data adapter passes: one base class, subclassed by each adapter's test module.

A subclass says which factory builds the client, which local server fakes the service, which
data types it publishes, and how to check the values (`check_records`). The base then proves
that the client connects, subscribes and publishes typed data; survives HTTP 429 (waiting the
server's Retry-After), 500, bad JSON and timeouts; skips a malformed record with an error that
names the field; answers a 401 with one error naming the environment variable and stops
polling; reconnects its WebSocket when the server drops it (WebSocket adapters); and never
writes the API key to any log (nautilus's logger or loguru), checked in a separate process.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ravebear.adapters.common.rate_limit import reset_shared_rate_limiters
from tests.adapters.harness import ClientRun, run_client
from tests.adapters.local_server import Fault, LocalServer

REPO = Path(__file__).resolve().parents[2]


class AdapterContract:
    """Base test class; subclasses set the class attributes and implement the hooks."""

    env_var: ClassVar[str]  # environment variable of the API key
    client_name: ClassVar[str]  # ClientId / factory name
    factory: ClassVar[Any]  # the LiveDataClientFactory
    data_types: ClassVar[tuple[type, ...]]  # what the client publishes
    fault_path: ClassVar[str]  # a path every poll requests (faults are injected there)
    websocket: ClassVar[bool] = False
    api_key: ClassVar[str] = "rb-secret-7Hq2xWv9KpL4"  # distinctive, so a leak is found by plain search

    # -- hooks ------------------------------------------------------------------------------

    def make_server(self) -> LocalServer:
        """Return the fake service (not started)."""
        raise NotImplementedError

    def make_config(self, server: LocalServer, **overrides: Any) -> Any:
        """Return the client config pointed at the server, polling fast."""
        raise NotImplementedError

    def check_records(self, run: ClientRun, server: LocalServer) -> None:
        """Assert the published records carry the values the server sent."""
        raise NotImplementedError

    def break_one_record(self, server: LocalServer) -> str:
        """Make the server send one record without a field; return the field's name."""
        raise NotImplementedError

    def enough(self, run: ClientRun) -> bool:
        """Return whether the run has published one record of every type."""
        return all(run.of(cls) for cls in self.data_types)

    def drop_websockets(self, server: LocalServer) -> None:
        """Close every WebSocket the server holds (WebSocket adapters)."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------------------

    @pytest.fixture
    def server(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
        monkeypatch.setenv(self.env_var, self.api_key)
        reset_shared_rate_limiters()
        server = self.make_server()
        server.api_key = self.api_key
        with server:
            yield server
        reset_shared_rate_limiters()

    def run(
        self, server: LocalServer, until: Callable[[ClientRun], bool] | None = None, timeout_s: float = 6.0,
        during: Callable[[ClientRun], None] | None = None, **overrides: Any,
    ) -> ClientRun:  # fmt: skip
        """Run the client against the server until `until` (default: one record of every type)."""
        config = self.make_config(server, **overrides)
        return asyncio.run(run_client(self.factory, self.client_name, config, self.data_types, until or self.enough, timeout_s, during))

    # -- the contract -----------------------------------------------------------------------

    def test_connects_subscribes_and_publishes_typed_data(self, server: LocalServer):
        run = self.run(server)
        assert self.enough(run), f"published {[type(r).__name__ for r in run.records]}; errors {run.errors()}"
        assert all(item.data_type.type is type(item.data) and not item.data_type.metadata for item in run.published)
        assert not run.errors()
        self.check_records(run, server)

    def test_survives_429_and_waits_the_retry_after(self, server: LocalServer):
        server.fail_next(self.fault_path, Fault("429", retry_after="1"))
        run = self.run(server)
        assert self.enough(run)
        statuses = [(hit.status, hit.t) for hit in server.hits_to(self.fault_path)]
        assert statuses[0][0] == 429 and statuses[1][0] < 400
        assert statuses[1][1] - statuses[0][1] >= 0.95  # Retry-After: 1 honoured
        assert any("429" in message for message in run.warnings())
        self.check_records(run, server)

    @pytest.mark.parametrize("kind", ["500", "bad_json", "timeout"])
    def test_survives_server_errors_bad_json_and_timeouts(self, server: LocalServer, kind: str):
        server.fail_next(self.fault_path, Fault(kind, delay_s=1.0), Fault(kind, delay_s=1.0))
        run = self.run(server, timeout_s=8.0)
        assert self.enough(run), f"errors: {run.errors()}"
        expected = {"500": "HTTP 500", "bad_json": "not JSON", "timeout": "timed out"}[kind]
        assert sum(expected in message for message in run.warnings() + run.errors()) >= 2, run.logs
        self.check_records(run, server)

    def test_persistent_failure_is_logged_and_polling_goes_on(self, server: LocalServer):
        server.fail_next(self.fault_path, *[Fault("500")] * 3)  # more than max_retries=1 allows for one poll
        run = self.run(server, max_retries=1, timeout_s=8.0)
        assert any("failed after 2 attempts: HTTP 500" in message for message in run.errors())
        assert self.enough(run)  # a later poll succeeded

    def test_malformed_record_is_skipped_with_an_error_naming_the_field(self, server: LocalServer):
        missing = self.break_one_record(server)
        run = self.run(server, until=lambda r: self.enough(r) and any(missing in m for m in r.errors()))
        errors = [m for m in run.errors() if "skipped" in m]
        assert errors and f"'{missing}'" in errors[0], run.errors()
        assert self.enough(run)  # the other records were published

    def test_401_logs_one_error_naming_the_env_var_and_stops_polling(self, server: LocalServer):
        server.reject_all_keys = True
        seen: list[tuple[float, int, int]] = []  # (when the client stopped, server hits by then, records published by then)

        def watch(run: ClientRun) -> None:
            if not seen and run.client.stopped_reason is not None:
                seen.append((time.monotonic(), len(server.hits), len(run.published)))

        run = self.run(server, until=lambda r: bool(seen) and time.monotonic() - seen[0][0] > 0.6, during=watch, timeout_s=5.0)
        assert seen, run.errors()
        assert (len(server.hits), len(run.published)) == seen[0][1:]  # nothing requested or published after the stop
        auth_errors = [m for m in run.errors() if self.env_var in m]
        assert len(auth_errors) == 1, run.errors()
        assert "rejected the API key" in auth_errors[0] and "stopped" in auth_errors[0]

    def test_reconnects_its_websocket_after_the_server_drops_it(self, server: LocalServer):
        if not self.websocket:
            pytest.skip("this adapter has no WebSocket")
        dropped: list[int] = []

        def drop_once(run: ClientRun) -> None:
            if not dropped and run.published:
                dropped.append(len(run.published))
                self.drop_websockets(server)

        run = self.run(server, until=lambda r: bool(dropped) and len(r.published) > dropped[0] + 1, during=drop_once, timeout_s=8.0)
        assert dropped and len(run.published) > dropped[0] + 1
        assert self.websocket_connections(server) >= 2
        assert any("reconnect" in m.lower() for m in run.warnings()), run.warnings()

    def websocket_connections(self, server: LocalServer) -> int:
        """Return how many WebSocket connections the server accepted."""
        raise NotImplementedError

    def test_never_writes_the_api_key_to_any_log(self):
        """Run every fault path with nautilus logging at DEBUG and loguru at DEBUG, in a fresh process."""
        target = f"{type(self).__module__}:{type(self).__name__}"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        done = subprocess.run(
            [sys.executable, "-m", "tests.adapters.probe", target], capture_output=True, text=True, cwd=REPO, env=env, timeout=60,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        assert "PROBE-OK" in done.stdout, output[-3000:]
        assert self.env_var in output  # the 401 error reached the logs...
        assert "[ERROR]" in output and "[WARN]" in output  # ...through nautilus's logger
        assert "| ERROR" in done.stderr or "| WARNING" in done.stderr  # and loguru's (history download)
        assert self.api_key not in output
        assert self.api_key[4:] not in output  # nor a recognisable part of it

    # -- probe (runs in the subprocess) -----------------------------------------------------

    def probe(self) -> None:
        """Drive every fault path and the history download; the caller checks the process output."""
        from loguru import logger
        from nautilus_trader.common.component import init_logging
        from nautilus_trader.common.enums import LogLevel

        logger.remove()
        logger.add(sys.stderr, level="DEBUG")
        _guard = init_logging(level_stdout=LogLevel.DEBUG, print_config=False)  # noqa: F841 - keeps logging alive
        os.environ[self.env_var] = self.api_key
        server = self.make_server()
        server.api_key = self.api_key
        with server:
            server.fail_next(self.fault_path, Fault("429", retry_after="0.1"), Fault("500"), Fault("bad_json"), Fault("timeout", delay_s=1.0))
            run = self.run(server, timeout_s=10.0)
            assert self.enough(run), run.errors()
            self.probe_history(server, logger)
            server.reject_all_keys = True
            run = self.run(server, until=lambda r: r.client.stopped_reason is not None, timeout_s=4.0)
            assert run.client.stopped_reason is not None
        print(f"PROBE-OK published={len(run.published)}", flush=True)

    def probe_history(self, server: LocalServer, log: Any) -> None:
        """Run the adapter's history download with loguru, including a retried fault and a 401."""
        raise NotImplementedError
