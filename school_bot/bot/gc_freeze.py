"""The garbage collector of a running bot: what start-up built, moved out of its sight
(CPython's `gc.freeze`), and the youngest generation collected less often.

A running bot holds about a million objects built at start-up (modules, models, the
engine, the bots) for as long as the process lives. Frozen, they are left out of every
collection: the full collections, which otherwise walk all of them, walk only what
answers allocate. An answer allocates a few thousand objects that refcounting frees as
it ends; collecting the youngest generation every 700 allocations (CPython's default)
walked the answers in flight many times each, for no garbage. Every 50,000 (`GEN0`) it
runs about seventy times less often: 5 % of the bot's CPU per answer in bursts (the
bot beside itself with the old threshold, bench/answers.py's parents), while a cycle
of garbage waits at most that many allocations. Tested with CPython 3.11; `gc.freeze` (3.7+) is CPython's own,
and tests/test_speed_paths.py fails naming the interpreter if it is missing or freezes
nothing. `SPEED_PATHS=false` (storage/speed_paths.py) leaves the collector as it comes.
"""

from __future__ import annotations

import gc

from school_bot.storage import speed_paths

GEN0, GEN1, GEN2 = 50_000, 20, 20  # gc.set_threshold: allocations, then collections


def freeze_start_up() -> bool:
    """Collect once, freeze every object that survived, and collect the young less
    often; True if done."""
    if not speed_paths.enabled():
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0, GEN1, GEN2)
    return True
