#!/usr/bin/env python3
"""Answer latency and throughput on the city: N parents asking at once, end to end.

    python -m bench.answers [--parents 200] [--rounds 1] [--think 1.0] [--quick]
                            [--backends sqlite,postgres] [--no-echo] [--profile] [--data DIR]

What runs (each piece in its own process, as in production Telegram is another machine):

* this process: the fake Telegram Bot API (tests/fakes/telegram_api.py, real HTTP on
  127.0.0.1) and N simulated parents. Each parent is a real linked account of the city
  (an Account row linked to its guardian row, inserted for N consenting guardians whose
  children go to launched schools, spread over the city) and sends, as Telegram updates
  queued for getUpdates, the sequence in `SEQUENCE`: commands, menu labels and one
  inline-button press taken from the previous answer's keyboard;
* the bot: `python run_bot.py run --role web` - the production composition root
  (bot/app.py: settings, migrated database, Conversation, `build_bot`,
  `TelegramFrontDoor.assemble` with its update feed and polling loop, one DB session per
  update) in **long-polling mode**, pointed at the fake server by TELEGRAM_API_URL and
  at a private copy of the city by DATABASE_URL;
* the baseline in the same run: a bare aiogram echo bot (`python -m bench.answers
  echo-bot`, one handler answering message.text) polling the same fake server with the
  same polling options (`tasks_concurrency_limit`, timeouts).

Why polling: it is the default mode (`TELEGRAM_MODE=polling`) and the one `run` uses
without a public address; it also batches up to 100 updates a call, so it is the
cheaper path for one process. Webhook mode (one HTTP POST per update into our aiohttp
server) would add that server's cost to every update; it is what several processes
behind a balancer need, and is not measured here.

Latency is measured at the fake server: from the moment an update is queued for
getUpdates to the moment the first message of the answer (sendMessage, or
editMessageText for a button press) arrives there. A parent sends its next request
only when the bot says the previous update is finished (its "turn handled"
log line on stderr; for the echo bot its one reply), so a long answer's later parts
are never mistaken for the next answer.

Two phases per bot:
* burst - every parent sends its sequence back to back (no think time): the bot is
  saturated, updates/s is its capacity; the ratio ours / echo compares these. A burst
  lasts seconds, so a moment of the shared machine's noise moves it: the echo bot runs
  beside ours (its own fake server, idle while ours works), and --bursts times (default
  5) an echo burst is followed by one of ours; every burst is printed, the ratio is the
  median of the pairs' ratios, and the median burst stands for each bot in the table.
  Before them each bot is warmed up: every parent says /start and goes once through
  the sequence, unmeasured;
* paced - every parent waits a random think time (exponential, mean --think s)
  before each request: the latency a parent sees at that offered load (goal p99 < 100 ms
  at 200 parents).
Both are bounded by counts and by --phase-timeout; each request by --request-timeout.
Besides wall-clock figures the table shows CPU time per update (/proc/<pid>/stat),
which the noise of a shared machine disturbs much less: the bot process's, the
PostgreSQL server's processes' ("PG CPU": the bot's readers and writers, plus the
server's own workers; about 0 beside SQLite and the echo bot) and this process's
("driver CPU": the fake Bot API server and the parents). The three share the two cores,
so the burst rate follows their sum.

`--profile` runs one more burst against the bot under cProfile with counters of SQL
statements and aiosqlite thread hops per update (bench/answers_profile.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (
    FULL_CITY,
    QUICK_CITY,
    City,
    cache_root,
    cached_sqlite,
    fresh_postgres,
    ms,
    percentile,
    postgres_available,
    postgres_template,
    product_version,
    say,
    stop_process,
    table,
    working_sqlite,
)

TOKEN = "424242:answers-bench"
FIRST_CHAT = 7_000_000
SHOWN = frozenset({"sendMessage", "editMessageText", "sendDocument"})
PRESS = "<press>"  # a step: press an inline button of the previous answer
DONE_LINE = re.compile(r'request_id=tg-(\d+) msg="turn (\w+)')
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")
RATIO_GOAL = 0.7  # ours ÷ the echo bot's updates/s in bursts, at least


def sequence() -> tuple[str, ...]:
    """What each parent asks, in order: commands, menu labels (Ukrainian) and a press."""
    from school_bot.handlers.menu import labels

    uk = labels("uk")
    return ("/grades", PRESS, "/homework", uk["schedule"], uk["grades"], "/schedule",
            uk["homework"], uk["rating"])


# ---------------------------------------------------------------- the parents' accounts


async def link_parents(url: str, count: int) -> list[int]:
    """Account rows for `count` consenting guardians with a child in a launched school.

    Test setup, as a school's import plus a shared contact would leave them: platform
    telegram, chat id FIRST_CHAT + n, Ukrainian. The guardians are spread evenly over
    the city's list (so over its schools). Returns the chat ids.
    """
    from sqlalchemy import insert, select, text

    from school_bot.storage.db import Database
    from school_bot.storage.models import (
        Account,
        AccountGuardian,
        Guardian,
        GuardianStudent,
        School,
        SchoolClass,
        Student,
    )

    database = Database.connect(url)
    try:
        async with database.unit_of_work() as session:
            guardians = list((await session.scalars(
                select(Guardian.id).distinct()
                .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
                .join(Student, Student.id == GuardianStudent.student_id)
                .join(SchoolClass, SchoolClass.id == Student.class_id)
                .join(School, School.id == SchoolClass.school_id)
                .where(Guardian.consent.is_(True), School.launched.is_(True))
                .order_by(Guardian.id))).all())
            if len(guardians) < count:
                raise SystemExit(f"the city has only {len(guardians)} linkable guardians")
            step = len(guardians) / count
            chosen = [guardians[int(n * step)] for n in range(count)]
            now = datetime.now(UTC)
            await session.execute(insert(Account), [
                {"platform": "telegram", "chat_id": str(FIRST_CHAT + n),
                 "language": "uk", "active": True, "state": {}, "notify_grades": "off",
                 "notify_homework": False, "notify_events": True, "failed_link_attempts": 0,
                 "created_at": now, "linked_at": now}
                for n in range(count)])
            ids = dict((await session.execute(select(Account.chat_id, Account.id).where(
                Account.platform == "telegram",
                Account.chat_id.in_([str(FIRST_CHAT + n) for n in range(count)])
            ))).tuples().all())
            await session.execute(insert(AccountGuardian), [
                {"account_id": ids[str(FIRST_CHAT + n)], "guardian_id": g, "linked_at": now}
                for n, g in enumerate(chosen)])
        if not database.sqlite:  # the chats' statistics, as autovacuum would soon have them
            async with database.engine.begin() as conn:
                await conn.execute(text("ANALYZE accounts, account_guardians"))
    finally:
        await database.dispose()
    return [FIRST_CHAT + n for n in range(count)]


# ---------------------------------------------------------------- the bot's process


def bot_environment(api_url: str, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("TELEGRAM_", "VIBER_", "WEBHOOK_", "NOTIFY_")):
            del env[name]
    env.update({
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api_url, "TELEGRAM_MODE": "polling",
        "DATABASE_URL": database_url, "WEB_HOST": "127.0.0.1", "WEB_PORT": "0",
        "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
    })
    return env


def ours_command(role: str = "web") -> list[str]:
    return [sys.executable, str(ROOT / "run_bot.py"), "run", "--role", role]


def echo_command(api_url: str) -> list[str]:
    return [sys.executable, "-m", "bench.answers", "echo-bot", "--api", api_url, "--token", TOKEN]


class BotProcess:
    """A bot in a child process: its stderr is read line by line for "update handled"."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], cwd: Path,
                 reports_done: bool) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.cwd = cwd
        self.reports_done = reports_done
        self.on_line: Callable[[str], None] | None = None  # every stderr line, e.g. import times
        self.proc: asyncio.subprocess.Process | None = None
        self.tail: deque[str] = deque(maxlen=200)
        self.failed_updates = 0
        self._done: dict[int, asyncio.Event] = {}
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, api: Any) -> None:
        polls = api.count("getUpdates")
        self.proc = await asyncio.create_subprocess_exec(
            *self.command, env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        self._reader = asyncio.create_task(self._read())
        deadline = time.monotonic() + START_TIMEOUT
        while api.count("getUpdates") <= polls:
            if self.proc.returncode is not None or time.monotonic() > deadline:
                await self.stop()
                raise RuntimeError(f"{self.name} did not start polling:\n" + "\n".join(list(self.tail)[-20:]))
            await asyncio.sleep(0.05)

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            if self.on_line is not None:
                self.on_line(line)
            if line.startswith("import time:"):
                continue
            self.tail.append(line)
            match = DONE_LINE.search(line)
            if match:
                if match.group(2) == "failed":
                    self.failed_updates += 1
                self._event(int(match.group(1))).set()

    def _event(self, update_id: int) -> asyncio.Event:
        event = self._done.get(update_id)
        if event is None:
            event = self._done[update_id] = asyncio.Event()
        return event

    async def finished(self, update_id: int, timeout: float) -> bool:
        """True once the bot logged the update as handled (or failed)."""
        if not self.reports_done:
            return True
        try:
            async with asyncio.timeout(timeout):
                await self._event(update_id).wait()
        except TimeoutError:
            return False
        self._done.pop(update_id, None)
        return True

    def cpu_seconds(self) -> float:
        """User + system CPU of the bot process so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    async def stop(self) -> int | None:
        return await stop_process(self.proc, self._reader, STOP_TIMEOUT)


def postgres_cpu_seconds() -> float:
    """User + system CPU of every PostgreSQL server process on this machine so far
    (the backends serving the bot, and the server's own workers); 0 without access."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # ended meanwhile
            continue
        name, _, rest = text.partition("(")[2].rpartition(")")
        if name.startswith("postgres"):
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])
    return total / CLK_TCK


@asynccontextmanager
async def running(bot: BotProcess, api: Any) -> AsyncIterator[BotProcess]:
    await bot.start(api)
    try:
        yield bot
    finally:
        code = await bot.stop()
        if code not in (0, -signal.SIGTERM):
            say(f"  !! {bot.name} exited with {code}; its last lines:\n    " +
                "\n    ".join(list(bot.tail)[-15:]))


# ---------------------------------------------------------------- the load


@dataclass
class Sample:
    kind: str          # the step ("/grades", a label, PRESS)
    latency: float     # queued -> first message of the answer (seconds)
    complete: float    # queued -> last message of the answer
    messages: int


@dataclass
class PhaseResult:
    bot: str
    phase: str
    parents: int
    samples: list[Sample] = field(default_factory=list)
    errors: int = 0
    timed_out: bool = False
    seconds: float = 0.0
    bot_cpu: float = 0.0
    driver_cpu: float = 0.0  # the fake Bot API server and the parents (this process)
    db_cpu: float = 0.0  # the PostgreSQL server's processes over the phase
    stray: int = 0  # messages that arrived for no pending request
    rates: list[float] = field(default_factory=list)  # of all the repeats this one is the median of
    ratios: list[float] = field(default_factory=list)  # ours / echo of each side-by-side pair
    cpu_ratios: list[float] = field(default_factory=list)  # CPU per update, echo / ours, each pair

    @property
    def cpu_per_update(self) -> float:
        return self.bot_cpu / max(self.updates, 1)

    def per_update(self, seconds: float) -> str:
        return f"{seconds / max(self.updates, 1) * 1000:.2f}"

    @property
    def updates(self) -> int:
        return len(self.samples)

    @property
    def rate(self) -> float:
        return self.updates / self.seconds if self.seconds else float("nan")

    def latency(self, p: float, kind: str | None = None) -> float:
        return percentile([s.latency for s in self.samples if kind in (None, s.kind)], p)


class Parents:
    """The simulated parents: each a chat with an inbox fed from the fake's journal."""

    def __init__(self, api: Any, chats: list[int], steps: tuple[str, ...]) -> None:
        self.api = api
        self.chats = chats
        self.steps = steps
        self.inboxes: dict[int, asyncio.Queue[Any]] = {c: asyncio.Queue() for c in chats}
        self.last_markup: dict[int, dict[str, Any] | None] = {}
        self.stray = 0
        api.journal.listeners.append(self._route)

    def _route(self, record: Any) -> None:
        if record.method in SHOWN and record.chat_id in self.inboxes:
            self.inboxes[record.chat_id].put_nowait(record)

    def _update(self, chat: int, step: str, bare: bool) -> dict[str, Any]:
        if step != PRESS:
            return self.api.message_update(chat, step, push=False)
        data = _button(self.last_markup.get(chat))
        if bare or data is None:  # the echo bot only reads text; no keyboard: ask again
            return self.api.message_update(chat, data or "/grades", push=False)
        return self.api.callback_update(chat, data, push=False)

    async def ask(self, chat: int, step: str, bot: BotProcess, timeout: float) -> Sample | None:
        inbox = self.inboxes[chat]
        while not inbox.empty():  # late parts of an earlier answer
            inbox.get_nowait()
            self.stray += 1
        update = self._update(chat, step, bare=not bot.reports_done)
        queued = time.monotonic()
        self.api.push_update(update)
        try:
            first = await asyncio.wait_for(inbox.get(), timeout)
        except TimeoutError:
            return None
        last, count = first, 1
        if not await bot.finished(update["update_id"], timeout):
            return None
        while not inbox.empty():
            last, count = inbox.get_nowait(), count + 1
        markup = last.params.get("reply_markup")
        self.last_markup[chat] = markup if isinstance(markup, dict) else None
        return Sample(step, first.at - queued, last.at - queued, count)

    async def run(self, bot: BotProcess, phase: str, *, rounds: int, think: float,
                  timeout: float, request_timeout: float, seed: int = 1) -> PhaseResult:
        result = PhaseResult(bot.name, phase, len(self.chats))
        cpu0, driver0, db0 = bot.cpu_seconds(), time.process_time(), postgres_cpu_seconds()
        stray0 = self.stray
        started = time.monotonic()
        ends: list[float] = []

        async def parent(n: int, chat: int) -> None:
            rng = random.Random(f"{seed}/{phase}/{n}")
            for _ in range(rounds):
                for step in self.steps:
                    if think:
                        await asyncio.sleep(rng.expovariate(1 / think))
                    sample = await self.ask(chat, step, bot, request_timeout)
                    if sample is None:
                        result.errors += 1
                    else:
                        result.samples.append(sample)
                        ends.append(time.monotonic())

        tasks = [asyncio.create_task(parent(n, c)) for n, c in enumerate(self.chats)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        result.timed_out = bool(pending)
        for task in done:
            if (error := task.exception()) is not None:
                raise error
        result.seconds = (max(ends) if ends else time.monotonic()) - started
        result.bot_cpu = bot.cpu_seconds() - cpu0
        result.driver_cpu = time.process_time() - driver0
        result.db_cpu = postgres_cpu_seconds() - db0
        result.stray = self.stray - stray0
        return result

    async def warm_up(self, bot: BotProcess, request_timeout: float,
                      timeout: float = 180.0) -> int:
        """Every parent says /start, then goes once through the steps (not measured), so
        that what is measured is the steady state: connections open, statements
        prepared, models built on first use, these parents' pages in the caches. (After
        /start alone, ours spent 0.3 ms more per update in its first burst than in the
        next ones; the echo bot did not.)"""
        answers = await asyncio.gather(*(self.ask(c, "/start", bot, request_timeout)
                                         for c in self.chats))
        once = await self.run(bot, "warm-up", rounds=1, think=0, timeout=timeout,
                              request_timeout=request_timeout)
        return sum(a is None for a in answers) + once.errors + once.timed_out


def _button(markup: dict[str, Any] | None) -> str | None:
    """The button a parent presses: "this week" (`...:w`) if offered, else the first."""
    rows = (markup or {}).get("inline_keyboard") or []
    buttons = [b.get("callback_data") for row in rows for b in row if b.get("callback_data")]
    return next((b for b in buttons if b.endswith(":w")), buttons[0] if buttons else None)


# ---------------------------------------------------------------- one bot, both phases


@dataclass
class Options:
    parents: int = 200
    rounds: int = 1
    think: float = 5.0
    phase_timeout: float = 180.0
    request_timeout: float = 30.0
    phases: tuple[str, ...] = ("burst", "paced")
    bursts: int = 5  # repeats of the burst phase; the median one is reported


async def measure_bot(api: Any, parents: Parents, bot: BotProcess, options: Options,
                      on_phase: Callable[[str], None] | None = None,
                      beside: tuple[BotProcess, Parents] | None = None) -> list[PhaseResult]:
    """The bot's phases; with `beside` (the echo bot, running, and its parents) each of
    its bursts follows one of the echo bot's, and the pairs' ratios are kept."""
    results: list[PhaseResult] = []
    async with running(bot, api):
        warm_errors = await parents.warm_up(bot, options.request_timeout, options.phase_timeout)
        if warm_errors:
            say(f"  !! {bot.name}: {warm_errors} warm-up requests unanswered")
        for phase in options.phases:
            if on_phase:
                on_phase(phase)
            repeats, echoes = [], []
            for _ in range(max(options.bursts, 1) if phase == "burst" else 1):
                if beside is not None and phase == "burst":
                    echoes.append(await run_phase(beside[1], beside[0], phase, options))
                repeats.append(await run_phase(parents, bot, phase, options))
            chosen = median_of(repeats)
            if echoes:
                results.append(median_of(echoes))
                chosen.ratios = [o.rate / e.rate for o, e in zip(repeats, echoes, strict=True)]
                chosen.cpu_ratios = [e.cpu_per_update / o.cpu_per_update
                                     for o, e in zip(repeats, echoes, strict=True)]
            results.append(chosen)
        failed = bot.failed_updates
    if failed:
        say(f"  !! {bot.name}: {failed} updates failed (apology sent); see its log")
    return results


async def run_phase(parents: Parents, bot: BotProcess, phase: str, options: Options) -> PhaseResult:
    """One phase of one bot, printed as it ends."""
    result = await parents.run(bot, phase, rounds=options.rounds,
                               think=options.think if phase == "paced" else 0.0,
                               timeout=options.phase_timeout,
                               request_timeout=options.request_timeout)
    say("  " + one_line(result))
    return result


def median_of(repeats: list[PhaseResult]) -> PhaseResult:
    """The repeat with the median rate (the lower middle of an even count), carrying the
    rates of all."""
    chosen = sorted(repeats, key=lambda r: r.rate)[(len(repeats) - 1) // 2]
    chosen.rates = [r.rate for r in repeats]
    return chosen


def _spread(r: PhaseResult) -> str:
    if len(r.rates) < 2:
        return f"{r.rate:.1f}"
    return f"{r.rate:.1f} (median of {len(r.rates)}: {min(r.rates):.0f}-{max(r.rates):.0f})"


def one_line(r: PhaseResult) -> str:
    return (f"{r.bot:<16} {r.phase:<6} {r.updates:>6} updates in {r.seconds:6.1f} s = "
            f"{r.rate:7.1f}/s  p50 {ms(r.latency(50))} ms  p99 {ms(r.latency(99))} ms  "
            f"bot CPU {r.cpu_per_update * 1000:.2f} ms/update"
            + (f"  errors {r.errors}" if r.errors else "") + ("  TIMED OUT" if r.timed_out else ""))


# ---------------------------------------------------------------- the databases


@dataclass
class Backend:
    name: str
    url: str


@asynccontextmanager
async def city_databases(city: City, root: Path, scratch: Path,
                         wanted: tuple[str, ...]) -> AsyncIterator[list[Backend]]:
    """Private copies of the cached city on each wanted backend (PostgreSQL if it answers)."""
    backends: list[Backend] = []
    if "sqlite" in wanted:
        cached = await asyncio.to_thread(cached_sqlite, city, root)
        backends.append(Backend("SQLite", working_sqlite(cached, scratch)))
    if "postgres" not in wanted:
        yield backends
        return
    problem = await postgres_available()
    if problem:
        say(f"PostgreSQL skipped: {problem}")
        yield backends
        return
    template = await asyncio.to_thread(postgres_template, city, root)
    async with fresh_postgres(template) as url:
        yield [*backends, Backend("PostgreSQL", url)]


# ---------------------------------------------------------------- the benchmark


def what_if_command(scratch: Path, what_if: str, role: str = "web") -> list[str]:
    return [sys.executable, "-m", "bench.answers_profile", "--out", str(scratch), "--plain",
            "--what-if", what_if, "--", "run", "--role", role]


async def bench(city: City, root: Path, options: Options, wanted: tuple[str, ...],
                echo: bool, profile: bool, what_ifs: tuple[str, ...] = ()) -> dict[str, Any]:
    from tests.fakes.telegram_api import FakeTelegramBotAPI

    figures: dict[str, Any] = {"results": []}
    with tempfile.TemporaryDirectory(prefix="bench_answers_") as tmp:
        scratch = Path(tmp)
        async with city_databases(city, root, scratch, wanted) as backends:
            for n, backend in enumerate(backends):
                chats = await link_parents(backend.url, options.parents)
                async with FakeTelegramBotAPI(TOKEN) as api, AsyncExitStack() as stack:
                    parents = Parents(api, chats, sequence())
                    beside = await _echo_beside(stack, chats, options) if echo else None
                    ours = BotProcess(f"ours {backend.name}", ours_command(),
                                      bot_environment(api.base_url, backend.url), scratch,
                                      reports_done=True)
                    measured = await measure_bot(api, parents, ours, options, beside=beside)
                    for r in measured if n > 0 else []:  # the echo beside a later backend
                        if r.bot == "echo":
                            r.bot = f"echo beside {backend.name}"
                    figures["results"] += measured
                    if beside is not None and n == 0 and "paced" in options.phases:
                        figures["results"].append(await run_phase(beside[1], beside[0], "paced", options))
                    for what_if in what_ifs:
                        changed = BotProcess(f"ours {backend.name} +{what_if}",
                                             what_if_command(scratch, what_if),
                                             bot_environment(api.base_url, backend.url), scratch,
                                             reports_done=True)
                        figures["results"] += await measure_bot(api, parents, changed, options,
                                                                beside=beside)
                    if profile:
                        from bench.answers_profile import profile_bot

                        figures.setdefault("profiles", {})[backend.name] = await profile_bot(
                            api, parents, backend, scratch, options)
    return figures


async def _echo_beside(stack: AsyncExitStack, chats: list[int],
                       options: Options) -> tuple[BotProcess, Parents]:
    """The echo bot on a fake server of its own, started and warmed up, kept running
    (idle, long-polling) while ours is measured, so their bursts can alternate."""
    from tests.fakes.telegram_api import FakeTelegramBotAPI

    api = await stack.enter_async_context(FakeTelegramBotAPI(TOKEN))
    parents = Parents(api, chats, sequence())
    bot = BotProcess("echo", echo_command(api.base_url), dict(os.environ, PYTHONPATH=str(ROOT)),
                     ROOT, reports_done=False)
    await stack.enter_async_context(running(bot, api))
    unanswered = await parents.warm_up(bot, options.request_timeout, options.phase_timeout)
    if unanswered:
        say(f"  !! echo: {unanswered} warm-up requests unanswered")
    return bot, parents


def report(figures: dict[str, Any], options: Options) -> list[tuple[str, str]]:
    """Print the tables; returns (figure, value) pairs for `python -m bench`'s summary."""
    results: list[PhaseResult] = figures["results"]
    say("\nanswers: updates/s and latency (queued at the fake Bot API -> first message of "
        "the answer there)")
    say(table(["bot", "phase", "parents", "updates", "seconds", "updates/s", "p50 ms",
               "p99 ms", "max ms", "bot CPU ms/upd", "PG CPU", "driver CPU", "errors"],
              [[r.bot, r.phase, r.parents, r.updates, f"{r.seconds:.1f}", f"{r.rate:.1f}",
                ms(r.latency(50)), ms(r.latency(99)), ms(r.latency(100)),
                f"{r.cpu_per_update * 1000:.2f}", r.per_update(r.db_cpu),
                r.per_update(r.driver_cpu),
                f"{r.errors}{' TIMEOUT' if r.timed_out else ''}"] for r in results]))
    summary: list[tuple[str, str]] = []
    echo = {r.phase: r for r in results if r.bot == "echo"}
    say("")
    for r in results:
        if r.bot.startswith("echo"):
            continue
        if r.phase == "burst" and r.ratios:
            ratio = statistics.median(r.ratios)
            cpu = 1 / statistics.median(r.cpu_ratios)
            verdict = "met" if ratio >= RATIO_GOAL else "NOT met"
            pairs = ", ".join(f"{x:.2f}" for x in r.ratios)
            say(f"  {r.bot}: updates/s ours / echo, burst by burst side by side: {pairs}; "
                f"median {ratio:.2f} (goal >= {RATIO_GOAL}: {verdict}); CPU per update ours / echo "
                f"(median) = {cpu:.1f}x; ours {_spread(r)}/s"
                + (f"; the PostgreSQL server adds {r.per_update(r.db_cpu)} ms of CPU per update"
                   if r.db_cpu > 0 else ""))
            summary.append((f"answers {r.bot}: burst updates/s (÷ echo)", f"{r.rate:.0f} ({ratio:.2f})"))
        if r.phase == "paced":
            p99 = r.latency(99)
            verdict = "yes" if p99 < 0.1 else "NO"
            say(f"  {r.bot}: p99 < 100 ms at {r.parents} parents, think {options.think:g} s "
                f"(~{r.parents / options.think:.0f} updates/s offered while all think; "
                f"{r.rate:.0f}/s over the phase): {verdict} (p99 {ms(p99)} ms)")
            summary.append((f"answers {r.bot}: paced p50/p99 ms", f"{ms(r.latency(50))} / {ms(p99)}"))
        if r.phase == "burst":
            summary.append((f"answers {r.bot}: burst p50/p99 ms",
                            f"{ms(r.latency(50))} / {ms(r.latency(99))}"))
    if "burst" in echo:
        summary.insert(0, ("answers echo: burst updates/s, p50/p99 ms",
                           (f"{echo['burst'].rate:.0f}, {ms(echo['burst'].latency(50))} / "
                            f"{ms(echo['burst'].latency(99))}")))
    _by_kind(results)
    for name, profile in figures.get("profiles", {}).items():
        summary += [(f"profile {name}: {k}", v) for k, v in profile.get("summary", [])]
    return summary


def _by_kind(results: list[PhaseResult]) -> None:
    ours = [r for r in results if not r.bot.startswith("echo") and "+" not in r.bot]
    if not ours:
        return
    kinds = list(dict.fromkeys(s.kind for r in ours for s in r.samples))
    say("\n  ours, by request (p50 / p99 ms of the first message; messages per answer)")
    rows = []
    for kind in kinds:
        row: list[object] = [kind]
        for r in ours:
            picked = [s for s in r.samples if s.kind == kind]
            row.append(f"{ms(r.latency(50, kind))} / {ms(r.latency(99, kind))}" if picked else "-")
        messages = [s.messages for r in ours for s in r.samples if s.kind == kind]
        row.append(f"{sum(messages) / max(len(messages), 1):.2f}")
        rows.append(row)
    say(table(["request"] + [f"{r.bot} {r.phase}" for r in ours] + ["msgs"], rows, indent="    "))
    stray = sum(r.stray for r in results)
    if stray:
        say(f"    {stray} messages arrived after their update was reported handled")


# ---------------------------------------------------------------- the echo bot


async def echo_bot(api_url: str, token: str) -> None:
    """The baseline: a bare aiogram bot answering message.text, polled like ours."""
    from aiogram import Bot, Dispatcher
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.types import Message

    from school_bot.bot.telegram.front_door import MAX_CONCURRENT_UPDATES, POLLING_TIMEOUT, REQUEST_TIMEOUT

    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api_url),
                                            timeout=REQUEST_TIMEOUT))
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "…")

    await dispatcher.start_polling(bot, polling_timeout=POLLING_TIMEOUT,
                                   tasks_concurrency_limit=MAX_CONCURRENT_UPDATES,
                                   allowed_updates=dispatcher.resolve_used_update_types())


# ---------------------------------------------------------------- command line


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.answers",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--parents", type=int, default=200, help="simulated parents at once")
    parser.add_argument("--rounds", type=int, default=1,
                        help=f"times each parent goes through the {len(sequence())}-step sequence")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time of the paced phase (s)")
    parser.add_argument("--bursts", type=int, default=Options.bursts,
                        help="repeats of the burst phase per bot (the median one is reported)")
    parser.add_argument("--phase-timeout", type=float, default=180.0, help="seconds a phase may take")
    parser.add_argument("--request-timeout", type=float, default=30.0)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--no-echo", action="store_true", help="skip the bare aiogram baseline")
    parser.add_argument("--profile", action="store_true", help="also profile one burst per backend")
    parser.add_argument("--what-if", action="append", default=[], metavar="CHANGES",
                        help="also run ours with changes patched in (bench/answers_profile.py), "
                             "+-separated: i18n, generics, deferred, serialize, noping, wide; "
                             "repeatable")
    parser.add_argument("--quick", action="store_true", help=f"a small city ({QUICK_CITY.describe()})")
    parser.add_argument("--data", type=Path, help="cache folder of generated/imported cities")
    parser.add_argument("command", nargs="?", choices=("bench", "echo-bot"), default="bench",
                        help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--token", default=TOKEN, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def options_from(args: argparse.Namespace) -> Options:
    return Options(parents=args.parents, rounds=args.rounds, think=args.think,
                   phase_timeout=args.phase_timeout, request_timeout=args.request_timeout,
                   bursts=args.bursts)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.command == "echo-bot":
        asyncio.run(echo_bot(args.api, args.token))
        return 0
    city = QUICK_CITY if args.quick else FULL_CITY
    say(f"answers: {args.parents} parents on the city of {city.describe()}; {product_version()}; "
        f"2 shared cores: wall-clock figures are noisy, compare within a run")
    options = options_from(args)
    wanted = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    from bench.answers_profile import WHAT_IFS

    unknown = {n for w in args.what_if for n in w.split("+")} - set(WHAT_IFS)
    if unknown:
        raise SystemExit(f"unknown --what-if {', '.join(sorted(unknown))}; known: {', '.join(WHAT_IFS)}")
    figures = asyncio.run(bench(city, cache_root(args.data), options, wanted,
                                echo=not args.no_echo, profile=args.profile,
                                what_ifs=tuple(args.what_if)))
    report(figures, options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
