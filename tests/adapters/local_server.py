"""A threaded aiohttp server on 127.0.0.1 for adapter tests: JSON routes, WebSockets, recorded hits, injected faults.

Subclasses add routes in `add_routes` and answer through `self.reply(request, payload)`, which
applies the next queued fault for the path (HTTP 429 with Retry-After, 500, a non-JSON body,
a response slower than the client's timeout, 401) and records every request.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Fault:
    """How one request fails."""

    kind: str  # "429" | "500" | "bad_json" | "timeout" | "401" | "ok" (answers normally: a placeholder in a queue)
    retry_after: str | None = "1"  # Retry-After of a 429 (None: no header)
    delay_s: float = 3.0  # how long a "timeout" response takes


@dataclass(frozen=True)
class Hit:
    """One request as the server saw it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    t: float  # time.monotonic() on arrival
    status: int
    cost: int  # rate-limit units the service would charge


@dataclass
class LocalServer:
    """Base of the fake services."""

    api_key: str = "test-key-0000"
    hits: list[Hit] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)  # path ("*" = any) -> queue
    reject_all_keys: bool = False  # every request answers 401
    mutations: dict[str, list[Callable[[Any], Any]]] = field(default_factory=dict)  # path -> one-shot body edits

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        """Return the base URL."""
        return f"http://127.0.0.1:{self.port}"

    def fail_next(self, path: str, *faults: Fault) -> None:
        """Queue faults for the next requests to `path` ("*" for any path)."""
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def mutate_next(self, path: str, edit: Callable[[Any], Any]) -> None:
        """Edit the body of the next successful response to `path` (e.g. drop a field)."""
        with self._lock:
            self.mutations.setdefault(path, []).append(edit)

    def hits_to(self, path: str) -> list[Hit]:
        """Return the recorded requests to a path."""
        return [hit for hit in self.hits if hit.path == path]

    def max_cost_in_window(self, window_s: float) -> int:
        """Return the largest total cost of requests arriving within any `window_s` seconds."""
        hits = sorted(self.hits, key=lambda h: h.t)
        best, lo, total = 0, 0, 0
        for hit in hits:
            total += hit.cost
            while hit.t - hits[lo].t >= window_s:
                total -= hits[lo].cost
                lo += 1
            best = max(best, total)
        return best

    # -- to override ------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Register the service's routes."""
        raise NotImplementedError

    def authorized(self, request: web.Request) -> bool:
        """Return whether the request carries the right key."""
        return True

    def rejects(self, request: web.Request) -> bool:
        """Return whether the request gets a 401 (a bad key, or `reject_all_keys`)."""
        return self.reject_all_keys or not self.authorized(request)

    def cost(self, request: web.Request) -> int:
        """Return the request's rate-limit cost."""
        return 1

    def unauthorized_body(self) -> Any:
        """Return the body of a 401."""
        return {"message": "Invalid API key"}

    # -- answering --------------------------------------------------------------------------

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for key in (path, "*"):
                queue = self.faults.get(key)
                if queue:
                    return queue.pop(0)
        return None

    async def reply(self, request: web.Request, payload: Callable[[], Any] | Any) -> web.Response:
        """Answer with `payload` as JSON (a callable is called), unless a fault or a bad key says otherwise."""
        arrived = time.monotonic()
        fault = self._next_fault(request.path)
        if self.rejects(request) or (fault is not None and fault.kind == "401"):
            return self._respond(request, arrived, 401, json.dumps(self.unauthorized_body()))
        if fault is not None:
            if fault.kind == "429":
                headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
                return self._respond(request, arrived, 429, json.dumps({"message": "Too Many Requests"}), headers)
            if fault.kind == "500":
                return self._respond(request, arrived, 500, "Internal Server Error", content_type="text/plain")
            if fault.kind == "bad_json":
                return self._respond(request, arrived, 200, '{"data": [1, 2', content_type="application/json")
            if fault.kind == "timeout":
                self._record_at(request, arrived, 200)
                await asyncio.sleep(fault.delay_s)
                return web.Response(text="[]", content_type="application/json")
        body = payload() if callable(payload) else payload
        with self._lock:
            edits = self.mutations.get(request.path)
            edit = edits.pop(0) if edits else None
        if edit is not None:
            body = edit(body)
        return self._respond(request, arrived, 200, json.dumps(body))

    def drain_faults(self, path: str, kind: str) -> int:
        """Remove the leading queued faults of one kind for a path; return how many."""
        with self._lock:
            queue = self.faults.get(path, [])
            count = 0
            while queue and queue[0].kind == kind:
                queue.pop(0)
                count += 1
            return count

    def _record_at(self, request: web.Request, arrived: float, status: int) -> None:
        with self._lock:
            self.hits.append(Hit(request.path, dict(request.query), dict(request.headers), arrived, status, self.cost(request)))

    def _respond(
        self, request: web.Request, arrived: float, status: int, text: str,
        headers: dict[str, str] | None = None, content_type: str = "application/json",
    ) -> web.Response:  # fmt: skip
        self._record_at(request, arrived, status)
        return web.Response(text=text, status=status, headers=headers, content_type=content_type)

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> LocalServer:
        self._thread = threading.Thread(target=self._serve, name=type(self).__name__, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{type(self).__name__} did not start")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def call_in_server(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the server's event loop (e.g. to close WebSockets)."""
        assert self._loop is not None
        self._loop.call_soon_threadsafe(fn)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        self.add_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.SockSite(runner, self._sock).start())
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(runner.cleanup())
            loop.close()
