#!/usr/bin/env python3
"""The web diary under N parents opening it at once, beside the bot's own answers.

    python -m bench.webapp [--parents 200] [--rounds 3] [--backends sqlite,postgres]
                           [--quick] [--no-answers] [--data DIR]

What runs:

* the bot: `python run_bot.py run --role web`, the production composition root, with
  WEB_PUBLIC_URL set, so its one web server serves the diary at /app/ (web/diary/) and
  checks Telegram's launch data with the bot's token; in long-polling mode against the
  fake Bot API (tests/fakes/telegram_api.py) in this process, as bench/answers.py runs
  it, on a private copy of the cached city (bench/common.py). The web role with a
  Telegram token polls for updates whether or not anyone writes, so the fake is needed
  anyway; it also carries the bot's answers measured beside the diary;
* the parents: N real linked accounts of the city (bench/answers.py's `link_parents`:
  consenting guardians of launched schools, spread over the city, each a Telegram chat
  linked as the bot links them). Each opens the diary as Telegram's Mini App does, in
  the page's order (web/diary/static/index.html and diary.js): the page, its stylesheet
  and script (together), `POST api/session` with launch data signed with the bot's
  token (tests/support/web_diary.py's `init_data`, as Telegram signs it), `GET api/diary`
  (the family and the page's words), `GET api/pupil/<ref>` (the first child's grades,
  attendance month, homework and events). All N start at once, each from its own
  loopback address (127.x.y.z, as separate phones; the diary limits refused session
  attempts per client address, not good ones), with a connection pool of its own and no cookie jar of
  aiohttp's (the session cookie is `Secure` and the test server is plain HTTP: it is
  sent back by hand, as the browser would over HTTPS).

A round: every parent opens the page once, all at once; then, with the diary idle, a
burst of the bot's answers (bench/answers.py's parents and sequence: each parent sends
its 8 requests back to back, no think time) by the same parents to the same process.
Before the rounds, one unmeasured page open each and the answers' warm-up (/start and
the sequence once): connections opened, statements prepared, caches warm.

Figures per round, then the median of the rounds: p50 / p99 / max of each request kind
and of the whole page open (the page's first byte asked → the pupil's data received;
the connection set-up is inside it: a phone opening the Mini App connects too); requests
per second over the round; the server process's CPU (/proc/<pid>/stat) per page open,
and that of the PostgreSQL backends serving this database (found by their process
title) per page; the bot's CPU per answer in the burst of the same round, and the ratio
of the two; "other work": the rest of the machine's busy time over the round (/proc/stat),
in cores. After the rounds, two more looks: the page opened by 20 parents one after
another (the latency with nobody else asking), and the server's CPU per request of each
kind, one kind at a time (every parent sends it three times over an open connection).
Wall-clock figures on a shared machine are noisy; the CPU per page and its ratio to an
answer's are the steadier figures. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.answers import (
    CLK_TCK,
    TOKEN,
    BotProcess,
    Parents,
    PhaseResult,
    bot_environment,
    city_databases,
    link_parents,
    ours_command,
    running,
    sequence,
)
from bench.common import (
    FULL_CITY,
    QUICK_CITY,
    City,
    cache_root,
    ms,
    percentile,
    product_version,
    say,
    table,
)

PUBLIC_URL = "https://diary.example.org"
LISTENING = re.compile(r"web server listening on (\S+?:\d+)")
ASSETS = ("page", "diary.css", "diary.js")
DATA = ("session", "diary", "pupil")
KINDS = (*ASSETS, *DATA)
WHOLE = "whole page open"
CONNECT = "(TCP connect)"
ALONE = 20  # parents opening the page one after another, for the latency without a crowd
SESSIONS_PER_ADDRESS = 10  # page opens per loopback address before the next block of addresses


@dataclass
class Options:
    parents: int = 200
    rounds: int = 3
    answers: bool = True
    request_timeout: float = 60.0
    round_timeout: float = 300.0


# ---------------------------------------------------------------- one parent's page open


class PageError(Exception):
    def __init__(self, kind: str, what: str) -> None:
        super().__init__(f"{kind}: {what}")
        self.kind = kind
        self.what = what


@dataclass
class PageOpen:
    times: dict[str, float] = field(default_factory=dict)  # kind -> seconds
    whole: float = 0.0
    connects: list[float] = field(default_factory=list)  # TCP connections set up, seconds each
    error: str | None = None
    chat: int = 0
    cookie: str = ""  # the session, for the requests measured one kind at a time
    ref: str = ""     # the first child


def address(n: int, round_no: int) -> str:
    """Parent n's loopback address in a round: the same for SESSIONS_PER_ADDRESS rounds
    (the warm-up is round 0), then the next block: each parent a phone of its own."""
    block = 1 + round_no // SESSIONS_PER_ADDRESS
    return f"127.{block}.{n // 250}.{n % 250 + 1}"


async def open_page(base: str, chat: int, launch: str, local: str, timeout: float) -> PageOpen:
    """What the page does when Telegram opens it: its files, a session, the family, the
    first child's diary (each request timed; the whole too)."""
    import aiohttp

    opened = PageOpen(chat=chat)
    trace = aiohttp.TraceConfig()
    connecting: dict[int, float] = {}

    async def connect_start(_s: Any, context: Any, _p: Any) -> None:
        connecting[id(context)] = time.perf_counter()

    async def connect_end(_s: Any, context: Any, _p: Any) -> None:
        opened.connects.append(time.perf_counter() - connecting.pop(id(context), time.perf_counter()))

    trace.on_connection_create_start.append(connect_start)
    trace.on_connection_create_end.append(connect_end)
    headers = {"Accept-Language": "uk"}
    cookie: dict[str, str] = {}

    async def request(http: aiohttp.ClientSession, kind: str, method: str, path: str,
                      expect: int = 200, **kwargs: Any) -> tuple[bytes, Any]:
        started = time.perf_counter()
        async with http.request(method, base + path, headers={**headers, **cookie}, **kwargs) as response:
            body = await response.read()
        opened.times[kind] = time.perf_counter() - started
        if response.status != expect:
            raise PageError(kind, str(response.status))
        return body, response.headers

    from school_bot.web.diary.sessions import COOKIE
    from tests.support.web_diary import session_cookie

    connector = aiohttp.TCPConnector(local_addr=(local, 0), limit=6)  # a browser's per-host limit
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                         timeout=aiohttp.ClientTimeout(total=timeout),
                                         trace_configs=[trace]) as http:
            await request(http, "page", "GET", "/app/")
            await asyncio.gather(request(http, "diary.css", "GET", "/app/static/diary.css"),
                                 request(http, "diary.js", "GET", "/app/static/diary.js"))
            _, answer = await request(http, "session", "POST", "/app/api/session",
                                      json={"init_data": launch})
            token = session_cookie(answer)
            if token is None:
                raise PageError("session", "no cookie")
            cookie = {"Cookie": f"{COOKIE}={token}"}
            body, _ = await request(http, "diary", "GET", "/app/api/diary")
            ref = json.loads(body)["pupils"][0]["ref"]
            body, _ = await request(http, "pupil", "GET", f"/app/api/pupil/{ref}")
            opened.cookie, opened.ref = cookie["Cookie"], ref
            if "calendar" not in json.loads(body):
                raise PageError("pupil", "no calendar")
        opened.whole = time.perf_counter() - started
    except PageError as exc:
        opened.error = str(exc)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        opened.error = f"{type(exc).__name__}"
    return opened


def launch_data(chat: int) -> str:
    """Telegram's initData for this chat, signed with the bot's token, issued now."""
    from tests.support.web_diary import init_data

    return init_data(chat, token=TOKEN, auth_date=datetime.now(UTC))


# ---------------------------------------------------------------- a round


@dataclass
class Round:
    backend: str
    number: int
    pages: list[PageOpen] = field(default_factory=list)
    seconds: float = 0.0
    server_cpu: float = 0.0
    db_cpu: float = 0.0
    driver_cpu: float = 0.0
    machine_cpu: float = 0.0  # every process on the machine (/proc/stat)
    timed_out: int = 0

    @property
    def done(self) -> list[PageOpen]:
        return [p for p in self.pages if p.error is None]

    @property
    def errors(self) -> Counter[str]:
        return Counter(p.error for p in self.pages if p.error is not None)

    @property
    def requests(self) -> int:
        return sum(len(p.times) for p in self.pages)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else float("nan")

    @property
    def others(self) -> float:
        """Cores kept busy by other work on the machine over the round (not the server,
        not this process, not PostgreSQL when it serves the diary)."""
        ours = self.server_cpu + self.driver_cpu + (self.db_cpu if self.backend == "PostgreSQL" else 0.0)
        return max(self.machine_cpu - ours, 0.0) / self.seconds if self.seconds else float("nan")

    def per_page(self, seconds: float) -> float:
        return seconds / max(len(self.done), 1)

    def latency(self, kind: str, p: float) -> float:
        if kind == WHOLE:
            return percentile([page.whole for page in self.done], p)
        return percentile([page.times[kind] for page in self.pages if kind in page.times], p)

    def connect(self, p: float) -> float:
        return percentile([c for page in self.pages for c in page.connects], p)


async def diary_round(base: str, chats: list[int], bot: BotProcess, backend: str, number: int,
                      options: Options, database: str | None) -> Round:
    """Every parent opens the page, all at once."""
    result = Round(backend, number)
    launches = [launch_data(chat) for chat in chats]  # Telegram's part, before the clock runs
    cpu0, db0, driver0 = bot.cpu_seconds(), postgres_cpu_seconds(database), time.process_time()
    machine0 = machine_cpu()
    started = time.perf_counter()
    tasks = [asyncio.create_task(open_page(base, chat, launch, address(n, number), options.request_timeout))
             for n, (chat, launch) in enumerate(zip(chats, launches, strict=True))]
    done, pending = await asyncio.wait(tasks, timeout=options.round_timeout)
    result.seconds = time.perf_counter() - started
    result.server_cpu = bot.cpu_seconds() - cpu0
    result.db_cpu = postgres_cpu_seconds(database) - db0
    result.driver_cpu = time.process_time() - driver0
    result.machine_cpu = machine_cpu() - machine0
    for task in pending:
        task.cancel()
    result.timed_out = len(pending)
    result.pages = [task.result() for task in done]
    return result


def postgres_cpu_seconds(database: str | None) -> float:
    """User + system CPU so far of the PostgreSQL server's processes serving `database`
    (their title names it: the bot's connections; not other databases' nor the server's
    own workers); 0 for SQLite (None) or without access. A connection that ends takes
    its time with it: the bot's pools keep theirs open."""
    if database is None:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            if not text.partition("(")[2].startswith("postgres"):
                continue
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        if f" {database} " in f" {title} ":
            fields = text.rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used so far (/proc/stat's first line:
    all but idle and iowait)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / CLK_TCK


def one_line(r: Round) -> str:
    errors = r.errors
    return (f"{r.backend:<10} round {r.number}: {len(r.done)} pages in {r.seconds:5.2f} s = "
            f"{r.rate:6.0f} requests/s  page p50 {ms(r.latency(WHOLE, 50))} ms  "
            f"p99 {ms(r.latency(WHOLE, 99))} ms  server CPU {r.per_page(r.server_cpu) * 1000:.2f} ms/page"
            + (f"  PG CPU {r.per_page(r.db_cpu) * 1000:.2f} ms/page" if r.backend == "PostgreSQL" else "")
            + f"  other work {r.others:.2f} cores"
            + (f"  errors {dict(errors)}" if errors else "")
            + (f"  TIMED OUT {r.timed_out}" if r.timed_out else ""))


async def one_at_a_time(base: str, chats: list[int], backend: str, number: int, options: Options) -> Round:
    """The page opened by one parent after another: the latency with nobody else asking."""
    result = Round(backend, number)
    started = time.perf_counter()
    for n, chat in enumerate(chats):
        result.pages.append(await open_page(base, chat, launch_data(chat), address(n, number),
                                            options.request_timeout))
    result.seconds = time.perf_counter() - started
    return result


async def cpu_by_request(base: str, pages: list[PageOpen], bot: BotProcess, number: int,
                         database: str | None, repeats: int = 3) -> dict[str, tuple[float, float]]:
    """The server's CPU per request of each kind, one kind at a time: every parent sends
    it `repeats` times over a connection already open (the page's sessions reused; a new
    one started for `session`); (server, PostgreSQL server) CPU seconds a request."""
    import aiohttp

    done = [p for p in pages if p.error is None]
    paths = {"page": "/app/", "diary.css": "/app/static/diary.css", "diary.js": "/app/static/diary.js",
             "diary": "/app/api/diary"}
    clients = [aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(address(n, number), 0), limit=1),
        cookie_jar=aiohttp.DummyCookieJar(), timeout=aiohttp.ClientTimeout(total=60))
        for n in range(len(done))]

    async def one(http: aiohttp.ClientSession, page: PageOpen, kind: str) -> None:
        for _ in range(repeats):
            if kind == "session":
                launch = {"init_data": launch_data(page.chat)}
                response = await http.post(base + "/app/api/session", json=launch)
            elif kind == "pupil":
                response = await http.get(f"{base}/app/api/pupil/{page.ref}", headers={"Cookie": page.cookie})
            else:
                response = await http.get(base + paths[kind], headers={"Cookie": page.cookie})
            async with response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{kind}: {response.status}")

    costs: dict[str, tuple[float, float]] = {}
    try:
        await asyncio.gather(*(one(http, page, "page") for http, page in zip(clients, done, strict=True)))
        for kind in KINDS:
            cpu0, db0 = bot.cpu_seconds(), postgres_cpu_seconds(database)
            await asyncio.gather(*(one(http, page, kind) for http, page in zip(clients, done, strict=True)))
            count = max(len(done) * repeats, 1)
            costs[kind] = ((bot.cpu_seconds() - cpu0) / count, (postgres_cpu_seconds(database) - db0) / count)
    finally:
        await asyncio.gather(*(http.close() for http in clients))
    return costs


# ---------------------------------------------------------------- the benchmark


@dataclass
class Measured:
    backend: str
    rounds: list[Round] = field(default_factory=list)
    bursts: list[PhaseResult] = field(default_factory=list)
    failed_updates: int = 0
    costs: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind -> CPU s a request
    alone: Round | None = None  # page opens one after another, nothing else going on


async def measure_backend(name: str, url: str, scratch: Path, options: Options) -> Measured:
    from sqlalchemy.engine import make_url

    from tests.fakes.telegram_api import FakeTelegramBotAPI

    measured = Measured(name)
    database = None if url.startswith("sqlite") else make_url(url).database
    chats = await link_parents(url, options.parents)
    env = dict(bot_environment("", url), WEB_PUBLIC_URL=PUBLIC_URL)
    async with FakeTelegramBotAPI(TOKEN) as api:
        env["TELEGRAM_API_URL"] = api.base_url
        bot = BotProcess(f"ours {name}", ours_command("web"), env, scratch, reports_done=True)
        listening: list[str] = []
        bot.on_line = lambda line: listening.extend(m.group(1) for m in [LISTENING.search(line)] if m)
        async with running(bot, api):
            for _ in range(200):
                if listening:
                    break
                await asyncio.sleep(0.05)
            if not listening:
                raise RuntimeError(f"{bot.name}: no 'web server listening' line")
            base = f"http://{listening[0]}"
            parents = Parents(api, chats, sequence())
            warm = await diary_round(base, chats, bot, name, 0, options, database)
            if warm.errors or warm.timed_out:
                say(f"  !! warm-up page opens: {dict(warm.errors)}, {warm.timed_out} timed out")
            if options.answers:
                unanswered = await parents.warm_up(bot, 30.0, options.round_timeout)
                if unanswered:
                    say(f"  !! {unanswered} warm-up requests to the bot unanswered")
            for number in range(1, options.rounds + 1):
                result = await diary_round(base, chats, bot, name, number, options, database)
                say("  " + one_line(result))
                measured.rounds.append(result)
                if options.answers:
                    db0 = postgres_cpu_seconds(database)
                    burst = await parents.run(bot, "burst", rounds=1, think=0.0,
                                              timeout=options.round_timeout, request_timeout=30.0)
                    burst.db_cpu = postgres_cpu_seconds(database) - db0  # this database's alone
                    say(f"  {name:<10} round {number}: bot burst {burst.updates} answers in "
                        f"{burst.seconds:5.2f} s = {burst.rate:6.0f}/s  bot CPU "
                        f"{burst.cpu_per_update * 1000:.2f} ms/answer"
                        + (f"  PG CPU {burst.per_update(burst.db_cpu)} ms/answer"
                           if name == "PostgreSQL" else "")
                        + (f"  errors {burst.errors}" if burst.errors else ""))
                    measured.bursts.append(burst)
            measured.alone = await one_at_a_time(base, chats[:ALONE], name, options.rounds + 2, options)
            measured.costs = await cpu_by_request(base, measured.rounds[-1].pages, bot, options.rounds + 1,
                                                  database)
        measured.failed_updates = bot.failed_updates
    return measured


async def bench(city: City, root: Path, options: Options, wanted: tuple[str, ...]) -> list[Measured]:
    results: list[Measured] = []
    with tempfile.TemporaryDirectory(prefix="bench_webapp_") as tmp:
        scratch = Path(tmp)
        async with city_databases(city, root, scratch, wanted) as backends:
            for backend in backends:
                say(f"\n{backend.name}: {options.parents} parents open the diary at once, "
                    f"{options.rounds} rounds" + (", each followed by a burst of the bot's answers"
                                                  if options.answers else ""))
                results.append(await measure_backend(backend.name, backend.url, scratch, options))
    return results


# ---------------------------------------------------------------- report


def _median(values: list[float]) -> float:
    values = [v for v in values if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


def _ms(values: list[float]) -> str:
    return ms(_median(values))


def _count(r: Round, kind: str) -> int:
    if kind == WHOLE:
        return len(r.done)
    if kind == CONNECT:
        return sum(len(p.connects) for p in r.pages)
    return sum(kind in p.times for p in r.pages)


def _latency(r: Round, kind: str, p: float) -> float:
    return r.connect(p) if kind == CONNECT else r.latency(kind, p)


def _cost(costs: dict[str, tuple[float, float]], kind: str, postgres: bool) -> list[str]:
    """The kind's CPU a request measured alone (ms); for the whole page their sum."""
    if kind == WHOLE and costs:
        cost = (sum(c[0] for c in costs.values()), sum(c[1] for c in costs.values()))
    elif kind in costs:
        cost = costs[kind]
    else:
        return ["-", "-"] if postgres else ["-"]
    return [f"{cost[0] * 1000:.2f}", f"{cost[1] * 1000:.2f}"] if postgres else [f"{cost[0] * 1000:.2f}"]


def report(results: list[Measured], options: Options) -> list[tuple[str, str]]:
    """Print the tables; returns (figure, value) pairs for `python -m bench`'s summary."""
    summary: list[tuple[str, str]] = []
    for m in results:
        if not m.rounds:
            continue
        rounds, name = m.rounds, f"webapp {m.backend}"
        say(f"\n{name}: {options.parents} parents open the diary at once; medians of "
            f"{len(rounds)} round(s), ms")
        postgres = m.backend == "PostgreSQL"
        rows = [[kind, f"{_median([float(_count(r, kind)) for r in rounds]):.0f}",
                 *(_ms([_latency(r, kind, p) for r in rounds]) for p in (50, 99, 100)),
                 ms(_latency(m.alone, kind, 50)) if m.alone else "-",
                 *_cost(m.costs, kind, postgres)]
                for kind in (*KINDS, WHOLE, CONNECT)]
        say(f"    (alone: p50 of {ALONE} page opens one after another; CPU: ms a request, each kind "
            "measured apart; the whole page: their sum)")
        say(table(["request", "count", "p50", "p99", "max", "alone", "server CPU",
                   *(["PG CPU"] if postgres else [])], rows, indent="    "))
        rate = _median([r.rate for r in rounds])
        page_cpu = _median([r.per_page(r.server_cpu) for r in rounds])
        db_cpu = _median([r.per_page(r.db_cpu) for r in rounds]) if m.backend == "PostgreSQL" else 0.0
        driver_cpu = _median([r.per_page(r.driver_cpu) for r in rounds])
        errors = sum((r.errors for r in rounds), Counter())
        failed = sum(errors.values()) + sum(r.timed_out for r in rounds)
        seconds = _median([r.seconds for r in rounds])
        say(f"    {rate:,.0f} requests/s ({len(KINDS)} a page; a round {seconds:.2f} s); "
            f"CPU per page: the server {page_cpu * 1000:.2f} ms"
            + (f", PostgreSQL {db_cpu * 1000:.2f} ms" if db_cpu > 0 else "")
            + f", the parents and the fake Bot API (this process) {driver_cpu * 1000:.2f} ms; "
            f"other work on the machine meanwhile: {_median([r.others for r in rounds]):.2f} "
            f"of {os.cpu_count()} cores"
            + (f"; failed page opens {failed}: {dict(errors)}" if failed else ""))
        whole = " / ".join(_ms([r.latency(WHOLE, p) for r in rounds]) for p in (50, 99, 100))
        data = " · ".join(f"{kind} {_ms([r.latency(kind, 50) for r in rounds])} / "
                          f"{_ms([r.latency(kind, 99) for r in rounds])}" for kind in DATA)
        alone = ms(_latency(m.alone, WHOLE, 50)) if m.alone else "-"
        summary += [(f"{name}: page open p50 / p99 / max ms, {options.parents} at once (alone p50)",
                     f"{whole} ({alone})"),
                    (f"{name}: data requests p50 / p99 ms", data),
                    (f"{name}: requests/s; server CPU per page",
                     f"{rate:,.0f}; {page_cpu * 1000:.2f} ms"
                     + (f" (+ PostgreSQL {db_cpu * 1000:.2f} ms)" if db_cpu > 0 else ""))]
        if failed:
            summary.append((f"{name}: failed page opens", str(failed)))
        if m.bursts:
            summary.append(_beside_answers(m, name, page_cpu))
    return summary


def _beside_answers(m: Measured, name: str, page_cpu: float) -> tuple[str, str]:
    """The bot's bursts of the same rounds, and CPU per page ÷ CPU per answer."""
    bursts = m.bursts
    answer_cpu = _median([b.cpu_per_update for b in bursts])
    answer_db = _median([b.db_cpu / max(b.updates, 1) for b in bursts]) if m.backend == "PostgreSQL" else 0.0
    ratios = [r.per_page(r.server_cpu) / b.cpu_per_update
              for r, b in zip(m.rounds, bursts, strict=False) if b.cpu_per_update > 0]
    ratio = _median(ratios)
    unanswered = sum(b.errors for b in bursts)
    say(f"    the bot's answers, same process (a burst of {bursts[0].updates} after each round): "
        f"{_median([b.rate for b in bursts]):,.0f} answers/s, p50 / p99 "
        f"{_ms([b.latency(50) for b in bursts])} / {_ms([b.latency(99) for b in bursts])} ms, "
        f"CPU per answer {answer_cpu * 1000:.2f} ms"
        + (f" (+ PostgreSQL {answer_db * 1000:.2f} ms)" if answer_db > 0 else "")
        + (f"; {unanswered} unanswered" if unanswered else "")
        + (f"; {m.failed_updates} failed" if m.failed_updates else ""))
    say(f"    CPU per diary page ÷ CPU per bot answer: {ratio:.1f} (round by round: "
        + ", ".join(f"{x:.1f}" for x in ratios) + ")")
    return (f"{name}: CPU per page ÷ per bot answer",
            f"{page_cpu * 1000:.2f} ÷ {answer_cpu * 1000:.2f} ms = {ratio:.1f}")


# ---------------------------------------------------------------- command line


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.webapp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=200, help="parents opening the diary at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (the medians are reported)")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--no-answers", action="store_true", help="skip the bot's answer bursts")
    parser.add_argument("--request-timeout", type=float, default=60.0, help="seconds a page open may take")
    parser.add_argument("--quick", action="store_true", help=f"a small city ({QUICK_CITY.describe()})")
    parser.add_argument("--data", type=Path, help="cache folder of generated/imported cities")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    city = QUICK_CITY if args.quick else FULL_CITY
    say(f"webapp: {args.parents} parents open the diary on the city of {city.describe()}; "
        f"{product_version()}; 2 shared cores: wall-clock figures are noisy, compare within a run")
    options = Options(parents=args.parents, rounds=args.rounds, answers=not args.no_answers,
                      request_timeout=args.request_timeout)
    wanted = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    results = asyncio.run(bench(city, cache_root(args.data), options, wanted))
    report(results, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
