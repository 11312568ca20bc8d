"""Fast random draws the generator makes millions of times, each from a given stream."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def weighted_pool(options: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """Each option repeated by its weight: a weighted draw is one rng.choice."""
    return tuple(option for option, weight in options for _ in range(weight))


def some(rng: random.Random, size: int, count: int) -> list[int]:
    """`count` different indices below `size` (random.sample is slow for a handful)."""
    if count <= 0 or size <= 0:
        return []
    if count * 3 >= size:
        return rng.sample(range(size), min(count, size))
    chosen: dict[int, None] = {}
    draw = rng.random
    while len(chosen) < count:
        chosen[int(draw() * size)] = None
    return list(chosen)


def poisson_quantiles(mean: float, size: int = 200) -> tuple[int, ...]:
    """Poisson(mean) at the probabilities (i + 0.5) / size: a draw is one table lookup."""
    table, count, term = [], 0, math.exp(-mean)
    cumulative = term
    for i in range(size):
        while cumulative < (i + 0.5) / size and term > 0:
            count += 1
            term *= mean / count
            cumulative += term
        table.append(count)
    return tuple(table)


class PoissonCounts:
    """Poisson counts from one stream, a table of quantiles per mean (one draw a count)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._tables: dict[float, tuple[int, ...]] = {}

    def draw(self, mean: float) -> int:
        """A Poisson count with this mean, from a table of its quantiles (one draw)."""
        mean = round(mean, 2)
        table = self._tables.get(mean)
        if table is None:
            table = self._tables[mean] = poisson_quantiles(mean)
        return table[int(self.rng.random() * len(table))]
