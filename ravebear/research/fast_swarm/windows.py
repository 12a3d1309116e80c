"""numba twins of the shared bot windows (`ravebear.strategies.swarm.bots.windows`) and of the nautilus
indicator updates the candle bots call (EMA, ATR, RSI), transcribed operation for operation from the
indicators' .pyx (nautilus_trader 1.231) so the votes are bit-identical. Each helper takes and returns the
state as scalars (numba keeps them in registers; no array is allocated per bar)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def window_push(values: np.ndarray, count: int, index: int, mean: float, m2: float, x: float) -> tuple[int, int, float, float]:
    """`RollingWindow.push`: returns the new (count, index, mean, m2); `values` is the ring, updated in place."""
    size = values.shape[0]
    if count < size:
        count += 1
        delta = x - mean
        mean += delta / count
        m2 += delta * (x - mean)
    else:
        old = values[index]
        new_mean = mean + (x - old) / size
        m2 += (x - old) * ((x - new_mean) + (old - mean))
        mean = new_mean
    values[index] = x
    index += 1
    if index == size:
        index = 0
        total = 0.0
        for j in range(size):
            total += values[j]
        mean = total / size
        m2 = 0.0
        for j in range(size):
            deviation = values[j] - mean
            m2 += deviation * deviation
    return count, index, mean, m2


@njit(cache=True, inline="always")
def window_variance(count: int, m2: float) -> float:
    """`RollingWindow.variance`."""
    return m2 / count if m2 > 0.0 else 0.0


@njit(cache=True, inline="always")
def ema_update(value: float, count: int, alpha: float, x: float) -> tuple[float, int]:
    """nautilus `ExponentialMovingAverage.update_raw` (alpha = 2.0 / (period + 1.0)); initialized once
    count >= period."""
    if count == 0:
        value = x
    value = alpha * x + ((1.0 - alpha) * value)
    return value, count + 1


@njit(cache=True, inline="always")
def true_range(previous_close: float, high: float, low: float) -> float:
    """nautilus `AverageTrueRange.update_raw`'s range with use_previous (Cython's max/min of two doubles)."""
    upper = high if high > previous_close else previous_close
    lower = low if low < previous_close else previous_close
    return upper - lower
