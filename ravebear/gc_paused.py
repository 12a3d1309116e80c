"""`gc_paused()`: the cyclic garbage collector off while a block builds many objects that hold no cycles
(no imports: every layer may use it).

Each new container counts toward a collection, and a collection walks every tracked object not frozen: building
tens of thousands of rows, events or alerts in one go makes it walk them again and again for no garbage. Reference
counting still frees what the block drops; cycles made meanwhile wait for the next collection after it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Disable the cyclic GC for the block; restore its state after (also on an error)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
