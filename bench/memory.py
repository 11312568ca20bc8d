#!/usr/bin/env python3
"""Resident memory of the bot process serving the city: idle, and under the answers load.

    python -m bench.memory [--parents 200] [--backends sqlite,postgres] [--idle 10] [--quick]

The bot is the production program, `python run_bot.py run` (role `all`: the Telegram
front door in polling mode, the notifications service with its jobs, the web server),
started by this benchmark with TELEGRAM_API_URL pointing at the fake Bot API it serves
and DATABASE_URL at a private copy of the imported city. Its /proc/<pid>/status is read:

* idle - `--idle` seconds after it began polling (jobs started, nobody asking);
* under load - sampled every 100 ms while the parents of bench/answers.py (the same
  linked accounts, the same sequence) run a burst and a paced phase;
* VmHWM - the peak resident size the kernel saw over the whole life of the process;
* after - a few seconds after the load.

VmRSS counts file-backed pages too (the interpreter, shared libraries, and SQLite's
memory-mapped WAL index), RssAnon only the process's own heap. The goal: < 200 MB.
Notifications the jobs may send to the same chats are counted as stray messages and do
not disturb the measurement.

In the same run, for scale: the bare aiogram echo bot of bench/answers.py under the same
load (the floor of any aiogram 3 bot on these library versions), and where the idle
heap comes from: the bot runs with PYTHONPROFILEIMPORTTIME=1, the modules it imported
are read from its stderr, and a fresh interpreter imports them in the same order,
recording RssAnon after each top-level package (aiogram counted where `bot.telegram`
imports it, with its models built on first use: bot/telegram/aiogram_internals.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.answers import (  # noqa: E402
    ROOT as PROJECT,
    TOKEN,
    BotProcess,
    echo_command,
    Options,
    Parents,
    bot_environment,
    city_databases,
    link_parents,
    one_line,
    ours_command,
    running,
    sequence,
)
from bench.common import FULL_CITY, QUICK_CITY, City, cache_root, product_version, say, table  # noqa: E402

GOAL_MB = 200
FIELDS = ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads")


def status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon, RssFile in kB and Threads from /proc/<pid>/status."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in FIELDS:
            found[name] = int(value.split()[0])
    return found


IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$")


@dataclass
class Memory:
    backend: str
    idle: dict[str, int] = field(default_factory=dict)
    peak_load: dict[str, int] = field(default_factory=dict)
    after: dict[str, int] = field(default_factory=dict)
    hwm: int = 0
    updates: int = 0
    lines: list[str] = field(default_factory=list)
    modules: list[str] = field(default_factory=list)


async def sample_peak(pid: int, into: dict[str, int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            now = status(pid)
        except FileNotFoundError:
            return
        for key, value in now.items():
            into[key] = max(into.get(key, 0), value)
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass


async def measure(backend: Any, options: Options, idle: float, *, echo: bool = False) -> Memory:
    """One bot (ours, `run_bot.py run`; or the echo bot) idle, under the load, after."""
    from tests.fakes.telegram_api import FakeTelegramBotAPI

    memory = Memory("echo (bare aiogram)" if echo else backend.name)
    chats = await link_parents(backend.url, options.parents) if not echo else None
    with tempfile.TemporaryDirectory(prefix="bench_memory_") as scratch:
        async with FakeTelegramBotAPI(TOKEN) as api:
            if echo:
                chats = [10_000_000 + n for n in range(options.parents)]
                bot = BotProcess("echo", echo_command(api.base_url), dict(os.environ, PYTHONPATH=str(PROJECT)),
                                 PROJECT, reports_done=False)
            else:
                env = bot_environment(api.base_url, backend.url) | {"PYTHONPROFILEIMPORTTIME": "1"}
                bot = BotProcess(f"run_bot {backend.name}", ours_command("all"), env, Path(scratch),
                                 reports_done=True)
                bot.on_line = lambda line: _imported(line, memory.modules)
            parents = Parents(api, chats, sequence())
            async with running(bot, api):
                await _load(bot, parents, memory, options, idle)
    return memory


def _imported(line: str, into: list[str]) -> None:
    match = IMPORT_LINE.match(line)
    if match:
        into.append(match.group(1))


async def _load(bot: BotProcess, parents: Parents, memory: Memory, options: Options, idle: float) -> None:
    await asyncio.sleep(idle)
    memory.idle = status(bot.pid)
    stop = asyncio.Event()
    sampler = asyncio.create_task(sample_peak(bot.pid, memory.peak_load, stop))
    await parents.warm_up(bot, options.request_timeout)
    for phase in options.phases:
        think = options.think if phase == "paced" else 0.0
        result = await parents.run(bot, phase, rounds=options.rounds, think=think,
                                   timeout=options.phase_timeout,
                                   request_timeout=options.request_timeout)
        memory.updates += result.updates
        memory.lines.append(one_line(result))
        say("  " + memory.lines[-1])
    stop.set()
    await sampler
    await asyncio.sleep(3)
    memory.after = status(bot.pid)
    memory.hwm = memory.after.get("VmHWM", 0)


IMPORTER = """
import importlib, json, sys
def anon():
    for line in open('/proc/self/status'):
        if line.startswith('RssAnon'):
            return int(line.split()[1])
modules = json.load(sys.stdin)
costs, seen, before = {}, set(), anon()
costs['(interpreter)'] = before
telegram = 'school_bot.bot.telegram' in modules
for name in modules:
    top = '.'.join(name.split('.')[:2]) if name.startswith('school_bot.') else name.split('.')[0]
    if (name.startswith('school_bot.bot.telegram') or (telegram and top == 'aiogram')) \
            and 'school_bot.bot.telegram' not in sys.modules:
        # the package's first act: importing aiogram, its models deferred (aiogram's
        # modules finish importing inside bot/telegram/aiogram_internals.py, before it)
        name, top = 'school_bot.bot.telegram', 'aiogram'
    try:
        importlib.import_module(name)
    except BaseException:
        continue
    now = anon()
    costs[top] = costs.get(top, 0) + now - before
    before = now
print(json.dumps(costs))
"""


def import_costs(modules: list[str]) -> dict[str, int]:
    """kB of RssAnon each top-level package adds when imported in the bot's order."""
    wanted = [m for m in dict.fromkeys(modules) if m not in ("__main__", "site", "sitecustomize")]
    done = subprocess.run([sys.executable, "-c", IMPORTER], input=json.dumps(wanted), text=True,
                          capture_output=True, cwd=PROJECT, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(PROJECT)))
    if done.returncode != 0:
        say(f"  (import breakdown failed: {done.stderr.strip()[-300:]})")
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def mb(kb: int | None) -> str:
    return "-" if not kb else f"{kb / 1024:,.1f}"


def report(results: list[Memory], parents: int) -> list[tuple[str, str]]:
    say(f"\nmemory of `run_bot.py run` serving the city (MB; goal < {GOAL_MB} MB)")
    rows = []
    for m in results:
        for label, values in (("idle", m.idle), (f"under load ({parents} parents, peak)", m.peak_load),
                              ("after the load", m.after)):
            rows.append([m.backend, label, mb(values.get("VmRSS")), mb(values.get("RssAnon")),
                         mb(values.get("RssFile")), values.get("Threads", "-")])
        rows.append([m.backend, "VmHWM (peak over the whole run)", mb(m.hwm), "", "", ""])
    say(table(["backend", "when", "VmRSS", "RssAnon", "RssFile", "threads"], rows))
    modules = next((m.modules for m in results if m.modules), [])
    if modules:
        costs = import_costs(modules)
        total = sum(costs.values())
        say(f"\n  where the idle heap comes from: RssAnon after importing what `run` imports "
            f"({len(set(modules))} modules), in its order, in a fresh interpreter: {mb(total)} MB")
        big = sorted(costs.items(), key=lambda kv: -kv[1])
        shown = [[name, mb(kb)] for name, kb in big if kb >= 1024]
        rest = sum(kb for _, kb in big if kb < 1024)
        say(table(["package", "MB"], shown + [["(the rest)", mb(rest)]], indent="    "))
    summary = []
    for m in results:
        verdict = "met" if m.hwm and m.hwm / 1024 < GOAL_MB else "NOT met"
        say(f"  {m.backend}: peak {mb(m.hwm)} MB (goal < {GOAL_MB} MB: {verdict}); "
            f"{m.updates} updates answered under load")
        summary += [(f"memory {m.backend}: idle VmRSS MB", mb(m.idle.get("VmRSS"))),
                    (f"memory {m.backend}: VmHWM under load MB", f"{mb(m.hwm)} ({verdict})")]
    return summary


async def bench(city: City, root: Path, options: Options, wanted: tuple[str, ...],
                idle: float, echo: bool = True) -> list[Memory]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_memory_db_") as tmp:
        async with city_databases(city, root, Path(tmp), wanted) as backends:
            if echo and backends:
                results.append(await measure(backends[0], options, idle, echo=True))
            for backend in backends:
                results.append(await measure(backend, options, idle))
    return results


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--think", type=float, default=5.0)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds to wait before the idle reading")
    parser.add_argument("--phase-timeout", type=float, default=180.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--no-echo", action="store_true", help="skip the bare aiogram baseline")
    parser.add_argument("--quick", action="store_true", help=f"a small city ({QUICK_CITY.describe()})")
    parser.add_argument("--data", type=Path, help="cache folder of generated/imported cities")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    city = QUICK_CITY if args.quick else FULL_CITY
    say(f"memory: the bot serving the city of {city.describe()}; {product_version()}")
    options = Options(parents=args.parents, rounds=args.rounds, think=args.think,
                      phase_timeout=args.phase_timeout)
    wanted = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    started = time.perf_counter()
    results = asyncio.run(bench(city, cache_root(args.data), options, wanted, args.idle,
                                echo=not args.no_echo))
    report(results, args.parents)
    say(f"  ({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
