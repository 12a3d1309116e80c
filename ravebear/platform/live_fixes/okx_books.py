"""OKX book snapshots that replace the book (nautilus 1.231).

nautilus 1.231's OKX data client turns a `books` snapshot into ADD deltas flagged `F_SNAPSHOT` with no CLEAR before
them (`crates/adapters/okx/src/websocket/parse.rs`, `parse_book_msg`). The first snapshot lands on an empty book, but
the one OKX sends after a reconnect (the client resubscribes) is added on top of the old book: levels gone meanwhile
stay, and any book kept from deltas (the OrderFlowActor's, a managed `OrderBook`) is wrong from then on (seen against
the local venue: every snapshot after a dropped public socket differed). `OKXBookSnapshotDataClientFactory` builds the
stock client and puts a CLEAR in front of each snapshot, as nautilus's Binance adapter and RaveBear's catalog do.
"""

from __future__ import annotations

from typing import Any

from nautilus_trader.adapters.okx.factories import OKXLiveDataClientFactory
from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import BookAction, RecordFlag


def with_clear(deltas: OrderBookDeltas) -> OrderBookDeltas:
    """`deltas` with a CLEAR first when they are a snapshot that does not start with one; otherwise `deltas` itself."""
    items = deltas.deltas
    if not items:
        return deltas
    first = items[0]
    if not first.flags & RecordFlag.F_SNAPSHOT or first.action == BookAction.CLEAR:
        return deltas
    clear = OrderBookDelta.clear(first.instrument_id, first.sequence, first.ts_event, first.ts_init)
    return OrderBookDeltas(deltas.instrument_id, [clear, *items])


class OKXBookSnapshotDataClientFactory(OKXLiveDataClientFactory):
    """nautilus's OKX data client whose book snapshots start with a CLEAR."""

    @staticmethod
    def create(loop: Any, name: str, config: Any, msgbus: Any, cache: Any, clock: Any) -> Any:  # type: ignore[override]
        """The stock client, its data hand-off wrapped."""
        client = OKXLiveDataClientFactory.create(loop, name, config, msgbus, cache, clock)
        handle = client._handle_data

        def handle_data(data: Any) -> None:
            handle(with_clear(data) if isinstance(data, OrderBookDeltas) else data)

        client._handle_data = handle_data
        return client
