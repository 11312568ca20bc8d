"""What start-up built, moved out of the garbage collector's sight (CPython's `gc.freeze`).

A running bot holds about a million objects built at start-up (modules, models, the
engine, the bots) for as long as the process lives. Frozen, they are left out of every
collection: the full collections, which otherwise walk all of them, walk only what
answers allocate. Tested with CPython 3.11; `gc.freeze` (3.7+) is CPython's own, and
tests/test_speed_paths.py fails naming the interpreter if it is missing or freezes
nothing. `SPEED_PATHS=false` (storage/speed_paths.py) leaves the collector as it comes.
"""

from __future__ import annotations

import gc

from school_bot.storage import speed_paths


def freeze_start_up() -> bool:
    """Collect once, then freeze every object that survived; True if frozen."""
    if not speed_paths.enabled():
        return False
    gc.collect()
    gc.freeze()
    return True
