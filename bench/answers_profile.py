"""Where the time of an answer goes: the bot under cProfile, with per-update counters.

Driver side (`profile_bot`, called by bench/answers.py --profile): starts the bot as

    python -m bench.answers_profile --out DIR -- run --role web

i.e. the same `run_bot.main` as production, inside a wrapper that, before the
program starts, installs passive counters keyed by the request id the front door
binds per update (`tg-<update_id>`, bot/logs.py):

* SQL statements (SQLAlchemy's before/after_cursor_execute on every Engine) and their
  wall time as the greenlet sees it (the driver call including the thread hop or the
  network round trip), commits, and the statement shapes;
* aiosqlite thread hops (`aiosqlite.Connection._execute`, which every cursor call,
  fetch, commit and rollback goes through): how many, the time from queueing the call
  to the event loop resuming the coroutine, and the part of it spent running in the
  connection's thread. The difference is what a hop costs: waiting for the thread to
  be free, and for the event loop to notice the result (call_soon_threadsafe).

The driver warms the bot up, sends SIGUSR1 (reset counters, start cProfile on the
event loop's thread), runs one burst of the parents, sends SIGUSR2 (stop, dump the
profile and counters to DIR), then stops the bot and prints the breakdown. cProfile
slows Python code down (typically 1.5-2x), so the shares matter, not the absolute ms;
the unprofiled CPU per update is in the main table.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import re
import shutil
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from operator import itemgetter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import cache_root, say, table

NO_REQUEST = "-"


# ================================================================ inside the bot process


class Counters:
    """Per request id: statements, DB time, hops; reset by SIGUSR1."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # signal handlers and GC callbacks may re-enter
        self.reset()

    def reset(self) -> None:
        self.per: dict[str, Counter[str]] = defaultdict(Counter)
        self.timing: dict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.shapes: Counter[str] = Counter()
        self.shape_time: defaultdict[str, float] = defaultdict(float)

    def add(self, rid: str, name: str, seconds: float | None = None, n: int = 1) -> None:
        with self.lock:
            self.per[rid][name] += n
            if seconds is not None:
                self.timing[rid][name] += seconds

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {"per": {rid: dict(c) for rid, c in self.per.items()},
                    "timing": {rid: dict(t) for rid, t in self.timing.items()},
                    "shapes": [(s, n, self.shape_time[s]) for s, n in self.shapes.most_common(40)]}


_SHAPE = re.compile(r"\s+")


def _count_reader_reads(counters: Counters, request_id: Any) -> None:
    """storage/fast.py: the reads of the process's reader (outside SQLAlchemy's events)
    count as statements too, shaped by the query's row name."""
    from school_bot.storage import fast

    for reader in (fast.SqliteReader, fast.PostgresReader):
        original = reader.fetch

        async def timed(self: Any, query: Any, values: Any, _original: Any = original) -> Any:
            started = time.perf_counter()
            try:
                return await _original(self, query, values)
            finally:
                seconds = time.perf_counter() - started
                counters.add(request_id.get(), "statements", seconds)
                shape = f"reader: {query.row.__name__}"
                with counters.lock:
                    counters.shapes[shape] += 1
                    counters.shape_time[shape] += seconds

        reader.fetch = timed  # type: ignore[method-assign]  # timed for the profile


def install_counters(counters: Counters) -> None:
    import aiosqlite.core
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from school_bot.bot.logs import REQUEST_ID

    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seconds = time.perf_counter() - conn.info["bench_started"].pop()
        counters.add(REQUEST_ID.get(), "statements", seconds)
        shape = _SHAPE.sub(" ", statement)[:80]
        with counters.lock:
            counters.shapes[shape] += 1
            counters.shape_time[shape] += seconds

    def committed(conn: Any) -> None:
        counters.add(REQUEST_ID.get(), "commits")

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Engine, "commit", committed)
    _count_reader_reads(counters, REQUEST_ID)

    original = aiosqlite.core.Connection._execute

    async def timed_execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        spent: list[float] = []

        def in_thread(*a: Any, **k: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent.append(time.perf_counter() - started)

        queued = time.perf_counter()
        try:
            return await original(self, in_thread, *args, **kwargs)
        finally:
            rid = REQUEST_ID.get()
            counters.add(rid, "hops", time.perf_counter() - queued)
            counters.add(rid, "hop_thread", sum(spent), n=0)

    aiosqlite.core.Connection._execute = timed_execute  # type: ignore[method-assign]  # timed
    install_gc_timer(counters)


def install_gc_timer(counters: Counters) -> None:
    """Garbage collections by generation and their pauses (under the `gc` pseudo-request)."""
    import gc

    started: list[float] = []

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            counters.add("gc", f"gen{info['generation']}", time.perf_counter() - started.pop())

    gc.callbacks.append(callback)


# ---------------------------------------------------------------- what-if experiments
# Changes the lead could make, tried on the running bot by patching it in this wrapper
# only (the product's files are not touched), so their effect can be measured side by
# side with the unchanged bot: `python -m bench.answers --what-if i18n+generics`.


def _what_if_i18n() -> None:
    """handlers/i18n.py: list the catalogs once instead of globbing locales/ per t()."""
    import functools

    import school_bot.shared.i18n as i18n

    i18n.domains = functools.lru_cache(maxsize=None)(i18n.domains)


def _what_if_generics() -> None:
    """Keep pydantic's parametrised generics (aiogram's Response[T]) strongly referenced."""
    from pydantic._internal import _generics as generics

    generics._GENERIC_TYPES_CACHE = generics.DeepChainMap(  # type: ignore[assignment]  # what if
        generics.GenericTypesCache(), generics.LimitedDict())


def _what_if_deferred() -> None:
    """storage/db.py: a plain (deferred) BEGIN instead of BEGIN IMMEDIATE on SQLite."""
    import school_bot.storage.db as db

    db._begin_immediate = lambda conn: conn.exec_driver_sql("BEGIN")


def _what_if_serialize() -> None:
    """storage/db.py: SQLite units of work of this process queue on an asyncio.Lock."""
    from contextlib import asynccontextmanager

    import school_bot.storage.db as db

    original = db.Database.unit_of_work
    locks: dict[int, asyncio.Lock] = {}

    @asynccontextmanager
    async def unit_of_work(self: Any) -> Any:
        if not self.sqlite:
            async with original(self) as session:
                yield session
            return
        lock = locks.setdefault(id(self), asyncio.Lock())
        async with lock, original(self) as session:
            yield session

    db.Database.unit_of_work = unit_of_work  # type: ignore[method-assign, assignment]  # what if


def _what_if_noping() -> None:
    """storage/db.py: no pool_pre_ping on PostgreSQL (a round trip at every checkout)."""
    import school_bot.storage.db as db

    original = db.create_async_engine

    def create(url: Any, **kw: Any) -> Any:
        kw.pop("pool_pre_ping", None)
        return original(url, **kw)

    db.create_async_engine = create


def _what_if_wide() -> None:
    """bot/telegram/front_door.py: 64 updates handled at once instead of 16."""
    from school_bot.bot.telegram import front_door

    front_door.MAX_CONCURRENT_UPDATES = 64


WHAT_IFS = {"i18n": _what_if_i18n, "generics": _what_if_generics,
            "deferred": _what_if_deferred, "serialize": _what_if_serialize,
            "noping": _what_if_noping, "wide": _what_if_wide}


def child_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--what-if", default="", help="+-separated: " + ", ".join(WHAT_IFS))
    parser.add_argument("--plain", action="store_true",
                        help="only the what-ifs: no counters, no profiler (a measured run)")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = [a for a in args.rest if a != "--"]
    for name in filter(None, args.what_if.split("+")):
        WHAT_IFS[name]()
    import run_bot

    if args.plain:
        return run_bot.main(rest)
    counters = Counters()
    install_counters(counters)
    profiler = cProfile.Profile()
    state = {"started": 0.0, "cpu": 0.0}

    def start(*_: Any) -> None:
        counters.reset()
        state["started"], state["cpu"] = time.perf_counter(), time.process_time()
        profiler.enable()

    def stop(*_: Any) -> None:
        profiler.disable()
        profiler.dump_stats(str(args.out / "profile.prof"))
        data = counters.dump()
        data["wall"] = time.perf_counter() - state["started"]
        data["cpu"] = time.process_time() - state["cpu"]  # all threads of the process
        (args.out / "counters.json").write_text(json.dumps(data))

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)
    return run_bot.main(rest)


# ================================================================ the driver's side


async def profile_bot(api: Any, parents: Any, backend: Any, scratch: Path, options: Any) -> dict[str, Any]:
    from bench.answers import BotProcess, bot_environment, running

    out = scratch / f"profile-{backend.name}"
    out.mkdir(exist_ok=True)
    command = [sys.executable, "-m", "bench.answers_profile", "--out", str(out), "--",
               "run", "--role", "web"]
    bot = BotProcess(f"profiled {backend.name}", command,
                     bot_environment(api.base_url, backend.url), scratch, reports_done=True)
    async with running(bot, api):
        await parents.warm_up(bot, options.request_timeout)
        assert bot.proc is not None  # running
        bot.proc.send_signal(signal.SIGUSR1)
        await asyncio.sleep(0.2)
        result = await parents.run(bot, "burst", rounds=options.rounds, think=0.0,
                                   timeout=options.phase_timeout,
                                   request_timeout=options.request_timeout)
        bot.proc.send_signal(signal.SIGUSR2)
        for _ in range(200):
            if (out / "counters.json").exists():
                break
            await asyncio.sleep(0.1)
    say("  " + __import__("bench.answers", fromlist=["one_line"]).one_line(result))
    counters = json.loads((out / "counters.json").read_text())
    kept = cache_root() / "profiles" / f"answers-{backend.name}-{time.strftime('%Y%m%d-%H%M%S')}.prof"
    kept.parent.mkdir(exist_ok=True)
    shutil.copyfile(out / "profile.prof", kept)
    say(f"  cProfile data kept in {kept} (python -m pstats {kept})")
    stats = pstats.Stats(str(kept))
    return print_profile(backend.name, result.updates, counters, stats)


CATEGORIES = (
    ("event loop: waiting (epoll)", lambda f, n: "select.epoll" in n or "poll' of 'select" in n),
    ("bench counters (instrumentation)", lambda f, n: f.startswith(str(ROOT / "bench"))),
    ("our code: handlers/", lambda f, n: f.startswith(str(ROOT / "handlers"))),
    ("our code: bot/", lambda f, n: f.startswith(str(ROOT / "bot"))),
    ("our code: storage/, web/, other", lambda f, n: f.startswith(str(ROOT)) and "site-packages" not in f),
    ("aiogram", lambda f, n: "/aiogram/" in f),
    ("pydantic", lambda f, n: "/pydantic" in f or "pydantic_core" in n),
    ("sqlalchemy", lambda f, n: "/sqlalchemy/" in f),
    ("aiosqlite + sqlite3 (event loop side)", lambda f, n: "/aiosqlite/" in f or "sqlite3" in n),
    ("asyncpg", lambda f, n: "/asyncpg/" in f or "asyncpg" in n),
    ("aiohttp, yarl, multidict", lambda f, n: any(p in f for p in ("/aiohttp/", "/yarl/", "/multidict/"))
     or "aiohttp" in n or "multidict" in n or "yarl" in n),
    ("asyncio", lambda f, n: "/asyncio/" in f or "_asyncio" in n or "selectors.py" in f),
    ("logging", lambda f, n: "/logging/" in f),
    ("babel / gettext", lambda f, n: "/babel/" in f or "gettext" in f),
    ("json / re / other builtins", lambda f, n: f == "~"),
    ("greenlet", lambda f, n: "greenlet" in f or "greenlet" in n),
)


def categorise(filename: str, name: str) -> str:
    for label, match in CATEGORIES:
        if match(filename, name):
            return label
    return "other Python (stdlib, zoneinfo, ...)"


def print_profile(name: str, updates: int, counters: dict[str, Any], stats: pstats.Stats) -> dict[str, Any]:
    per_update = max(updates, 1)
    say(f"\nprofile of ours on {name}: one burst of {updates} updates under cProfile "
        f"(wall {counters['wall']:.1f} s, process CPU {counters['cpu']:.1f} s = "
        f"{counters['cpu'] / per_update * 1000:.1f} ms/update incl. profiler overhead)")
    summary = _counter_section(counters, per_update)
    by_category: defaultdict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, func), (_cc, calls, tottime, cumtime, _who) in _table(stats).items():
        by_category[categorise(filename, func)] += tottime
        functions.append((tottime, cumtime, calls, filename, line, func))
    busy = sum(v for k, v in by_category.items() if not k.startswith("event loop"))
    say(f"\n  event loop thread, self time by package (ms per update; share of its busy time "
        f"{busy / per_update * 1000:.1f} ms)")
    say(table(["package", "ms/update", "share"],
              [[k, f"{v / per_update * 1000:.2f}", "-" if k.startswith("event loop") else f"{v / busy:.0%}"]
               for k, v in sorted(by_category.items(), key=itemgetter(1), reverse=True)], indent="    "))
    say("\n  top functions by self time (ms per update, calls per update)")
    top = sorted((f for f in functions if "epoll" not in f[5]), reverse=True)[:25]
    say(table(["function", "self ms", "cum ms", "calls"],
              [[_where(f[3], f[4], f[5]), f"{f[0] / per_update * 1000:.3f}",
                f"{f[1] / per_update * 1000:.2f}", f"{f[2] / per_update:.1f}"] for f in top],
              indent="    "))
    say("\n  hot spots (cumulative ms per update, calls per update)")
    say(table(["where", "cum ms", "calls"], _hot_spots(stats, per_update), indent="    "))
    say("\n  who calls the costliest library functions (caller: ms self of the callee per update)")
    for f in [f for f in top if not f[3].startswith(str(ROOT))][:6]:
        say(f"    {_where(f[3], f[4], f[5])}")
        say("      " + _callers(stats, (f[3], f[4], f[5]), per_update))
    ours = sorted((f for f in functions if f[3].startswith(str(ROOT)) and "site-packages" not in f[3]),
                  key=lambda f: f[1], reverse=True)[:20]
    say("\n  our functions by cumulative time (ms per update; coroutines count only while running)")
    say(table(["function", "cum ms", "self ms", "calls"],
              [[_where(f[3], f[4], f[5]), f"{f[1] / per_update * 1000:.2f}",
                f"{f[0] / per_update * 1000:.3f}", f"{f[2] / per_update:.1f}"] for f in ours],
              indent="    "))
    share = {k: v / busy for k, v in by_category.items() if busy and not k.startswith("event loop")}
    summary.append(("event-loop busy ms/update (profiled)", f"{busy / per_update * 1000:.1f}"))
    summary += [(f"share {k}", f"{v:.0%}") for k, v in sorted(share.items(), key=lambda kv: -kv[1])[:6]]
    return {"summary": summary, "categories": {k: v / per_update for k, v in by_category.items()}}


def _counter_section(counters: dict[str, Any], per_update: int) -> list[tuple[str, str]]:
    per, timing = counters["per"], counters["timing"]
    updates = [rid for rid in per if rid.startswith("tg-")]
    n = max(len(updates), 1)

    def total(key: str, source: dict[str, Any], rids: list[str]) -> float:
        return sum(source.get(rid, {}).get(key, 0) for rid in rids)

    statements = total("statements", per, updates) / n
    commits = total("commits", per, updates) / n
    hops = total("hops", per, updates) / n
    db_ms = total("statements", timing, updates) / n * 1000
    hop_ms = total("hops", timing, updates) / n * 1000
    thread_ms = total("hop_thread", timing, updates) / n * 1000
    outside = dict(per.get(NO_REQUEST, {}))
    collections = per.get("gc", {})
    gc_ms = sum(timing.get("gc", {}).values()) / per_update * 1000
    say(f"\n  per update (averages over {len(updates)} updates with a request id)")
    rows = [["SQL statements (incl. BEGIN; the reader's reads)", f"{statements:.2f}"],
            ["commits", f"{commits:.2f}"],
            ["time in SQL statements, as awaited (ms)", f"{db_ms:.2f}"]]
    if hops:
        rows += [["aiosqlite thread hops", f"{hops:.2f}"],
                 ["  awaited in hops (ms)", f"{hop_ms:.2f}"],
                 ["  of which running in the connection thread (ms)", f"{thread_ms:.2f}"],
                 ["  of which waiting for thread / event loop (ms)", f"{hop_ms - thread_ms:.2f}"]]
    generations = "/".join(str(collections.get(f"gen{g}", 0)) for g in range(3))
    rows += [[f"garbage collections (gen0/1/2 in all: {generations}), pause ms", f"{gc_ms:.2f}"]]
    say(table(["what", "per update"], rows, indent="    "))
    if outside:
        say(f"    outside any update: {outside}")
    say("\n  statements by shape (per update; mean ms per statement as awaited)")
    say(table(["statement", "per update", "mean ms"],
              [[s, f"{c / n:.2f}", f"{t / c * 1000:.2f}"] for s, c, t in counters["shapes"][:15]],
              indent="    "))
    begin = next(((c, t) for s, c, t in counters["shapes"] if s.startswith("BEGIN")), None)
    summary = [("SQL statements / commits per update", f"{statements:.1f} / {commits:.1f}"),
               ("GC pause ms per update", f"{gc_ms:.2f}"),
               ("ms in SQL per update (awaited)", f"{db_ms:.1f}")]
    if begin:
        summary.append(("of which BEGIN IMMEDIATE (waiting for the write lock), ms per update",
                        f"{begin[1] / n * 1000:.1f}"))
    if hops:
        summary += [("aiosqlite hops per update; ms awaited (in thread)",
                     f"{hops:.1f}; {hop_ms:.1f} ({thread_ms:.1f})")]
    return summary


HOT_SPOTS = (
    ("pydantic: rebuilding aiogram's Response[T] generic class (cache is weak)",
     "pydantic/_internal/_generics.py", "create_generic_submodel"),
    ("aiogram: check_response (parse the Bot API answer)", "aiogram/client/session/base.py",
     "check_response"),
    ("bot/telegram/updates.py: feed (an update converted, its turn run, answered)",
     "bot/telegram/updates.py", "feed"),
    ("handlers/i18n.py domains(): glob of locales/ per t() call", "handlers/i18n.py", "domains"),
    ("handlers/i18n.py t()", "handlers/i18n.py", "t"),
    ("SQLAlchemy Session._flush (autoflush, commit)", "sqlalchemy/orm/session.py", "_flush"),
    ("SQLAlchemy AsyncSession.execute + scalar(s)", "sqlalchemy/ext/asyncio/session.py", "execute"),
    ("SQLAlchemy select() construction (Select.__init__)", "sqlalchemy/sql/selectable.py", "__init__"),
    ("logging: handle (format, mask phones, write)", "logging/__init__.py", "handle"),
    ("bot/telegram/convert.py reply_to_methods", "bot/telegram/convert.py", "reply_to_methods"),
)


# (file, line, function) -> (primitive calls, calls, own time, cumulative time, callers)
FunctionKey = tuple[str, int, str]
StatsTable = dict[FunctionKey, tuple[int, int, float, float, dict[FunctionKey, Any]]]


def _table(stats: pstats.Stats) -> StatsTable:
    """The profile's table, which pstats keeps as `Stats.stats` (typeshed does not say)."""
    table: StatsTable = stats.stats  # type: ignore[attr-defined]
    return table


def _hot_spots(stats: pstats.Stats, per_update: int) -> list[list[str]]:
    rows = []
    for label, path, name in HOT_SPOTS:
        table = _table(stats)
        keys = [k for k in table if k[0].endswith(path) and k[2] == name]
        cum = sum(table[k][3] for k in keys)
        calls = sum(table[k][0] for k in keys)
        rows.append([label, f"{cum / per_update * 1000:.2f}", f"{calls / per_update:.2f}"])
    return rows


def _callers(stats: pstats.Stats, key: tuple[str, int, str], per_update: int, depth: int = 4) -> str:
    """The heaviest chain of callers of `key`, up to the first function of ours."""
    chain = []
    seen = {key}
    for _ in range(depth):
        callers = _table(stats)[key][4]
        if not callers:
            break
        key = max(callers, key=lambda k: callers[k][2])
        if key in seen:
            break
        seen.add(key)
        chain.append(_where(*key))
        if key[0].startswith(str(ROOT)) and "site-packages" not in key[0]:
            break
    return " <- ".join(chain) or "-"


def _where(filename: str, line: int, func: str) -> str:
    if filename == "~":
        return func[:70]
    short = filename
    for marker in ("site-packages/", str(ROOT) + "/", "lib/python3.11/"):
        if marker in filename:
            short = filename.split(marker, 1)[1]
            break
    return f"{short}:{line} {func}"[:80]


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
