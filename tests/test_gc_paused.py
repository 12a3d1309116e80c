"""gc_paused(): the cyclic GC is off inside the block and back as it was after, also when the block raises."""

import gc

import pytest

from ravebear.gc_paused import gc_paused


def test_the_collector_is_off_inside_and_restored_after_even_on_an_error():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
