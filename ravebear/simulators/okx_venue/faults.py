"""Failures the venue injects on request, the ones a live node must survive.

A fault is queued by the operator (tests, or `POST /sim/faults`) and consumed by the next matching
request, op or push:

- `rest`: the next REST call to the path `match` (or containing a fragment without a leading /) answers HTTP 429 (`{"code":"50011","msg":"Too Many
  Requests"}`), HTTP 500/503, code 50011 with HTTP 200, code 50001 ("Service temporarily unavailable"),
  or the right answer after `delay_s` (a slow venue).
- `ws_op`: the next WebSocket `op` (order, cancel-order, amend-order, ...) is answered late (`delay_s`,
  the order is still placed at once: a slow ack), refused with 50011 (rate limit, nothing placed), or
  never answered and the order not placed ("drop").
- `push`: the next `count` pushes on a channel are held back and sent in reverse order (out of order).
- `socket`: drop every WebSocket of a kind (public / private / business), send one malformed frame
  on it, or stall it (socket stays open, nothing is sent on it any more) until `resume`; `refuse` drops
  them and answers every new WebSocket upgrade of that kind with HTTP 503 for `delay_s` (or until
  `resume`): the venue goes on trading, and nothing it pushes meanwhile reaches the node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

REST_KINDS = ("429", "500", "503", "50011", "50001", "slow")
WS_OP_KINDS = ("slow", "50011", "drop")
SOCKET_KINDS = ("drop", "malformed", "stall", "resume", "refuse")
SOCKETS = ("public", "private", "business")


@dataclass(frozen=True)
class Fault:
    """One injected failure."""

    target: str  # rest | ws_op | push | socket
    kind: str  # see the module docstring
    match: str = ""  # rest: a path fragment; ws_op: the op name ("" = any); push: the channel; socket: the socket kind
    delay_s: float = 0.0
    count: int = 1  # push: how many pushes to hold and reverse

    @classmethod
    def parse(cls, data: dict) -> Fault:
        """Validate a fault from JSON; raises ValueError with the reason."""
        unknown = sorted(set(data) - {"target", "kind", "match", "delay_s", "count"})
        if unknown:
            raise ValueError(f"unknown fault fields {unknown}")
        fault = cls(**data)
        allowed = {"rest": REST_KINDS, "ws_op": WS_OP_KINDS, "push": ("reorder",), "socket": SOCKET_KINDS}
        if fault.target not in allowed:
            raise ValueError(f"fault target {fault.target!r}: use one of {sorted(allowed)}")
        if fault.kind not in allowed[fault.target]:
            raise ValueError(f"fault kind {fault.kind!r} for {fault.target}: use one of {list(allowed[fault.target])}")
        if fault.target == "socket" and fault.match not in SOCKETS:
            raise ValueError(f"socket fault needs match in {list(SOCKETS)}, got {fault.match!r}")
        if fault.target == "push" and (not fault.match or fault.count < 2):
            raise ValueError("push reorder needs a channel in match and count >= 2")
        return fault


@dataclass
class FaultQueue:
    """Queued faults, consumed in order by the first request they match."""

    pending: list[Fault] = field(default_factory=list)
    fired: list[tuple[Fault, str]] = field(default_factory=list)  # (fault, what it hit)

    def add(self, fault: Fault) -> None:
        """Queue a fault."""
        self.pending.append(fault)

    def take(self, target: str, name: str) -> Fault | None:
        """The first queued fault of `target` matching `name` (a path, op or channel), removed from the queue."""
        for i, fault in enumerate(self.pending):
            if fault.target == target and self._matches(fault, name):
                del self.pending[i]
                self.fired.append((fault, name))
                return fault
        return None

    @staticmethod
    def _matches(fault: Fault, name: str) -> bool:
        if not fault.match:
            return True
        if fault.target == "rest" and not fault.match.startswith("/"):
            return fault.match in name  # a fragment such as "order-algo"
        return fault.match == name  # a full path, an op or a channel
