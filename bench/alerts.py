#!/usr/bin/env python3
"""Absence alerts through the ingest API while a city-wide announcement is delivered.

    python -m bench.alerts [--backends sqlite,postgres] [--quick] [--seconds 60]
                           [--absences 500] [--parents 3000] [--scan-interval S] [--keep DIR]

20 schools' systems (one API key each) post `--absences` absences over `--seconds`
seconds through `POST /api/v1/attendance`, one mark a request, each school at its own
random moments, while an announcement to `--parents` parents (audience: the city) is
being delivered. Every absent pupil is a different pupil whose parent has a linked
Telegram chat (so each absence is the pupil's first of the day: its alert is a first
alert, not an update of one). The parents of the absent pupils get the announcement too.

What runs, each in its own process (Telegram is another machine):

* the fake Telegram Bot API (`python -m tests.fakes.telegram_api`, real HTTP on
  127.0.0.1) WITH its flood limits: 30 messages a second in all, 1 a second per chat;
  it logs every accepted request with the wall-clock moment it arrived;
* SQLite: one `python run_bot.py run --role all` (front door, notifications, web server);
* PostgreSQL: two `run --role web` processes without a messenger token (the ingest API
  on two ports; the schools post to one or the other) and one `run --role worker` with
  the Telegram token pointed at the fake server;
* this process: builds the database (20 launched schools, the families, today's
  lessons, the keys), queues the announcement as `announce` does
  (`create_announcement`), posts the absences and reads the fake server's log.

The scheduled jobs run as in production: the absence scan every NOTIFY_ABSENCE_INTERVAL
(20 s unless `--scan-interval` sets it), plus whatever wakes the worker sooner.
Quiet hours are off (QUIET_HOURS empty), so the announcement goes whatever the hour.

Printed per database, beside the goals:

* alert latency p50 / p95 / p99 / max: from the API's 200 (as this process received it)
  to the fake server receiving the alert, matched by the parent's chat and the lesson
  named in the text (each lesson of a class's day has its own subject), as a sendMessage
  or an editMessageText;
* missing alerts (no match by the end) and duplicates (a second sendMessage naming the
  same lesson to the same chat); 429 answers of the fake server;
* the announcement: copies lost and doubled, and the rate of all messages sent while it
  ran (its first copy to its last) as a fraction of 30/s, with its own share beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import fresh_postgres, percentile, postgres_available, say, stop_process, table

TOKEN = "515151:alerts-bench"
RATE = 30.0
SCHOOLS = 20
FIRST_CHAT = 800_000
SUBJECTS = ("Українська мова", "Математика", "Фізика", "Історія України", "Англійська мова",
            "Біологія", "Географія", "Хімія")
ANNOUNCEMENT = "Шановні батьки! У п'ятницю о 18:00 загальноміські батьківські збори."
MARK = "батьківські збори"  # in every copy of the announcement, in no alert
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
GOAL_P99 = 2.0
GOAL_RATE = 0.95
BACKENDS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


@dataclass(frozen=True)
class Shape:
    parents: int
    absences: int
    seconds: float
    scan_interval: float | None  # None: the product's default

    def describe(self) -> str:
        scan = "default" if self.scan_interval is None else f"{self.scan_interval:g} s"
        return (f"{self.absences} absences from {SCHOOLS} schools over {self.seconds:g} s, "
                f"announcement to {self.parents:,} parents, fake Bot API at {RATE:g}/s and "
                f"1/s per chat; absence scan interval {scan}")


@dataclass(frozen=True)
class Absence:
    school: int          # 0-based
    student_id: str
    lesson_id: str
    chat_id: int
    lesson: str          # the lesson's subject (each lesson of a class's day has its own)


@dataclass
class World:
    keys: list[str]      # by school
    absences: list[Absence]
    chats: list[int]     # every parent's chat (the announcement's recipients)


# ---------------------------------------------------------------- the database


async def build_world(url: str, shape: Shape, seed: int = 7) -> World:
    """Migrate and fill the database: schools, families with linked chats, today's
    lessons (8 a class) and one API key per school; choose the absences."""
    from school_bot.shared.settings import Settings
    from school_bot.storage.db import Database
    from school_bot.storage.migrate import upgrade
    from school_bot.storage.models import (
        Account,
        Guardian,
        GuardianStudent,
        Lesson,
        School,
        SchoolClass,
        Student,
    )
    from school_bot.web.auth import create_key

    today = datetime.now(UTC).astimezone(Settings(_env_file=None).zone).date()
    per_school = [shape.parents // SCHOOLS + (1 if s < shape.parents % SCHOOLS else 0)
                  for s in range(SCHOOLS)]
    database = Database.connect(url)
    try:
        await upgrade(database.engine)
        families: list[list[tuple[str, int]]] = []  # per school: (student id, chat id)
        chat = FIRST_CHAT
        async with database.unit_of_work() as s:
            for n in range(SCHOOLS):
                s.add(School(id=f"S{n:02d}", name=f"Ліцей №{n + 1}", launched=True,
                             timezone="Europe/Kyiv"))
            await s.flush()
            s.add_all(SchoolClass(id=f"C{n:02d}", school_id=f"S{n:02d}", name="9-А")
                      for n in range(SCHOOLS))
            await s.flush()
            for n in range(SCHOOLS):
                pupils = [(f"P{n:02d}-{i}", chat + i) for i in range(per_school[n])]
                chat += per_school[n]
                families.append(pupils)
                s.add_all(Student(id=pid, class_id=f"C{n:02d}", full_name=f"Учень{i} Марія")
                          for i, (pid, _) in enumerate(pupils))
                s.add_all(Guardian(id=f"G{pid[1:]}", consent=True) for pid, _ in pupils)
                s.add_all(Lesson(id=f"L{n:02d}-{k}", class_id=f"C{n:02d}", subject=SUBJECTS[k - 1],
                                 teacher_id=f"T{n:02d}", date=today, number=k,
                                 starts_at=clock_time(8 + k - 1, 0), ends_at=clock_time(8 + k - 1, 45))
                          for k in range(1, len(SUBJECTS) + 1))
            await s.flush()
            for pupils in families:
                s.add_all(GuardianStudent(guardian_id=f"G{pid[1:]}", student_id=pid)
                          for pid, _ in pupils)
                s.add_all(Account(platform="telegram", guardian_ids=[f"G{pid[1:]}"], chat_id=str(c))
                          for pid, c in pupils)
            keys = [(await create_key(s, school_id=f"S{n:02d}", name=f"school system {n}",
                                      actor="bench")).secret for n in range(SCHOOLS)]
    finally:
        await database.dispose()
    return World(keys, choose_absences(families, shape.absences, random.Random(seed)),
                 [c for pupils in families for _, c in pupils])


def choose_absences(families: list[list[tuple[str, int]]], count: int,
                    rng: random.Random) -> list[Absence]:
    """`count` absences spread over the schools, each of a different pupil while there
    are pupils enough (then a second lesson of the same pupils), in a random lesson."""
    order = [(school, pupil) for school, pupils in enumerate(families) for pupil in pupils]
    rng.shuffle(order)
    absences: list[Absence] = []
    taken: set[tuple[str, int]] = set()
    while len(absences) < count:
        school, (student_id, chat_id) = order[len(absences) % len(order)]
        number = rng.randrange(1, len(SUBJECTS) + 1)
        while (student_id, number) in taken:
            number = number % len(SUBJECTS) + 1
        taken.add((student_id, number))
        absences.append(Absence(school, student_id, f"L{school:02d}-{number}", chat_id,
                                SUBJECTS[number - 1]))
    return absences


async def alerts_queued_at(url: str) -> dict[int, float]:
    """When the first absence alert to each chat was written into the outbox (wall clock)."""
    from sqlalchemy import func, select

    from school_bot.storage.db import Database
    from school_bot.storage.models import Account, OutboxMessage

    database = Database.connect(url)
    try:
        async with database.unit_of_work() as s:
            rows = (await s.execute(
                select(Account.chat_id, func.min(OutboxMessage.created_at))
                .join(Account, Account.id == OutboxMessage.account_id)
                .where(OutboxMessage.kind == "absence").group_by(Account.chat_id))).all()
    finally:
        await database.dispose()
    return {int(chat): _aware(at).timestamp() for chat, at in rows}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def queue_announcement(url: str) -> int:
    """The city-wide announcement, queued as `announce` queues it; its recipients."""
    from school_bot.notifications.announcements import create_announcement, operator
    from school_bot.storage.db import Database

    database = Database.connect(url)
    try:
        async with database.unit_of_work() as s:
            announcement = await create_announcement(
                s, author=operator("bench"), school_id=None, audience="city",
                audience_value=None, text=ANNOUNCEMENT, urgent=False)
        return announcement.recipients
    finally:
        await database.dispose()


# ---------------------------------------------------------------- the processes


@asynccontextmanager
async def fake_telegram(log: Path) -> AsyncIterator[str]:
    """The standalone fake Bot API, flood limits on; yields its URL."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.fakes.telegram_api", "--port", "0", "--token", TOKEN,
        "--rate", f"{RATE:g}", "--per-chat", "1", "--per-chat-burst", "0", "--log", str(log),
        "--log-rejected", cwd=ROOT, stdout=asyncio.subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None  # stdout=PIPE
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        if not line.startswith("READY"):
            raise RuntimeError("the fake Bot API did not start")
        yield line.split()[1]
    finally:
        proc.terminate()
        await proc.wait()


LISTENING = re.compile(r"web server listening on (\S+?:\d+)")


class BotProcess:
    """`run_bot.py run --role ROLE` in a child process; ready once it logged `running`."""

    def __init__(self, name: str, role: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.role = role
        self.env = env
        self.cwd = cwd
        self.proc: asyncio.subprocess.Process | None = None
        self.address: str | None = None
        self.tail: deque[str] = deque(maxlen=60)
        self.errors = 0
        self._ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "run_bot.py"), "run", "--role", self.role,
            env=self.env, cwd=self.cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            start_new_session=True)
        self._reader = asyncio.create_task(self._read())
        try:
            async with asyncio.timeout(START_TIMEOUT):
                while not self._ready.is_set():
                    if self.proc.returncode is not None:
                        raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
                    await asyncio.sleep(0.05)
        except (TimeoutError, RuntimeError) as exc:
            await self.stop()
            raise RuntimeError(f"{self.name} did not start ({exc}):\n    " +
                               "\n    ".join(list(self.tail)[-20:])) from None

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self.tail.append(line)
            if "level=ERROR" in line or '"level": "ERROR"' in line:
                self.errors += 1
            if (match := LISTENING.search(line)) is not None:
                self.address = match.group(1)
            if "running role=" in line:
                self._ready.set()

    async def stop(self) -> int | None:
        return await stop_process(self.proc, self._reader, STOP_TIMEOUT)


def environment(database_url: str, api_url: str | None, shape: Shape) -> dict[str, str]:
    """The bot's environment: this database, the fake Bot API (None: no messenger)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "VIBER_", "WEBHOOK_", "NOTIFY_"))}
    env.update({"DATABASE_URL": database_url, "WEB_HOST": "127.0.0.1", "WEB_PORT": "0",
                "QUIET_HOURS": "", "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1"})
    if api_url is not None:
        env.update({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api_url,
                    "TELEGRAM_MODE": "polling"})
    if shape.scan_interval is not None:
        env["NOTIFY_ABSENCE_INTERVAL"] = f"{shape.scan_interval:g}"
    return env


@asynccontextmanager
async def running(processes: list[BotProcess]) -> AsyncIterator[list[BotProcess]]:
    async with AsyncExitStack() as stack:
        for proc in processes:
            await proc.start()
            stack.push_async_callback(_stopped, proc)
        yield processes


async def _stopped(proc: BotProcess) -> None:
    code = await proc.stop()
    if code not in (0, -signal.SIGTERM):
        say(f"  !! {proc.name} exited with {code}; its last lines:\n    " +
            "\n    ".join(list(proc.tail)[-15:]))


def processes_for(backend: str, url: str, api_url: str, shape: Shape, cwd: Path) -> list[BotProcess]:
    if backend == "sqlite":
        return [BotProcess("run --role all", "all", environment(url, api_url, shape), cwd)]
    return [BotProcess("run --role web #1", "web", environment(url, None, shape), cwd),
            BotProcess("run --role web #2", "web", environment(url, None, shape), cwd),
            BotProcess("run --role worker", "worker", environment(url, api_url, shape), cwd)]


# ---------------------------------------------------------------- the fake server's log


class ServerLog:
    """The fake server's JSON lines (accepted and refused requests), read as they are
    appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []
        self._offset = 0
        self._partial = b""

    def read(self) -> list[dict[str, Any]]:
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = self._partial + handle.read()
                self._offset = handle.tell()
            *lines, self._partial = data.split(b"\n")
            self.records += [json.loads(line) for line in lines if line.strip()]
        return self.records

    def announced(self) -> int:
        return sum(1 for r in self.read()
                   if r["ok"] and r["method"] == "sendMessage" and MARK in (r["text"] or ""))


async def rejected_429(api_url: str) -> int:
    import aiohttp

    async with (aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
                http.get(f"{api_url}/_fake/stats") as answer):
        return int((await answer.json())["rejected_429"])


# ---------------------------------------------------------------- the schools' systems


@dataclass
class Posted:
    absence: Absence
    ok_at: float | None     # wall clock of the 200; None: refused
    took: float
    answer: str = ""


@dataclass
class Posting:
    posted: list[Posted] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0


async def post_absences(world: World, urls: list[str], seconds: float, rng: random.Random) -> Posting:
    """Each school's system posts its absences one by one at random moments."""
    import aiohttp

    result = Posting(started=time.time())
    by_school: dict[int, list[Absence]] = {}
    for absence in world.absences:
        by_school.setdefault(absence.school, []).append(absence)
    t0 = time.monotonic()

    async def school(n: int, absences: list[Absence], http: aiohttp.ClientSession) -> None:
        url = f"{urls[n % len(urls)]}/api/v1/attendance"
        headers = {"Authorization": f"Bearer {world.keys[n]}"}
        for at, absence in zip(sorted(rng.uniform(0, seconds) for _ in absences), absences,
                               strict=True):
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            body = [{"student_id": absence.student_id, "lesson_id": absence.lesson_id,
                     "status": "absent"}]
            sent = time.monotonic()
            try:
                async with http.post(url, json=body, headers=headers) as answer:
                    text = await answer.text()
                    ok = answer.status == 200
            except (aiohttp.ClientError, TimeoutError) as exc:
                ok, text = False, f"{type(exc).__name__}: {exc}"
            result.posted.append(Posted(absence, time.time() if ok else None,
                                        time.monotonic() - sent, "" if ok else text[:200]))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:
        await asyncio.gather(*(school(n, absences, http) for n, absences in by_school.items()))
    result.ended = time.time()
    return result


# ---------------------------------------------------------------- one run


@dataclass
class Figures:
    backend: str
    latencies: list[float]
    from_queue: list[float]  # the alert's outbox row written -> the fake server got it
    api_times: list[float]
    posted: int
    refused: int
    missing: int
    duplicates: int
    too_many: int
    too_many_chat: int  # of them, refused by the limit of 1 a second per chat
    recipients: int
    announced: int
    announcement_lost: int
    announcement_doubled: int
    rate: float
    own_rate: float
    window: tuple[float, float]
    posting: tuple[float, float]
    errors: int


def first_arrivals(records: list[dict[str, Any]], absences: list[Absence]
                   ) -> tuple[dict[Absence, float], int]:
    """When each absence's alert first arrived (sendMessage or editMessageText to the
    parent's chat naming the lesson), and how many sendMessages named it again."""
    wanted: dict[int, list[Absence]] = {}
    for absence in absences:
        wanted.setdefault(absence.chat_id, []).append(absence)
    first: dict[Absence, float] = {}
    sends: Counter[Absence] = Counter()
    for record in records:
        if record["method"] not in ("sendMessage", "editMessageText") or not record["ok"]:
            continue
        text = record["text"] or ""
        for absence in wanted.get(record["chat_id"], ()):
            if absence.lesson in text:
                first[absence] = min(first.get(absence, record["ts"]), record["ts"])
                if record["method"] == "sendMessage":
                    sends[absence] += 1
    return first, sum(n - 1 for n in sends.values() if n > 1)


def refused_per_chat(records: list[dict[str, Any]]) -> int:
    """429s refused by the per-chat limit: that chat had a message accepted in the
    second before (the others were refused by the overall 30 a second)."""
    accepted: dict[Any, list[float]] = {}
    for r in records:
        if r["ok"] and r["method"] == "sendMessage":
            accepted.setdefault(r["chat_id"], []).append(r["at"])
    return sum(1 for r in records if r["status"] == 429
               and any(r["at"] - 1.0 < at <= r["at"] for at in accepted.get(r["chat_id"], ())))


def measure(backend: str, records: list[dict[str, Any]], world: World, posting: Posting,
            recipients: int, too_many: int, errors: int, queued: dict[int, float]) -> Figures:
    ok = [p for p in posting.posted if p.ok_at is not None]
    first, duplicates = first_arrivals(records, [p.absence for p in ok])
    latencies = [first[p.absence] - p.ok_at for p in ok if p.absence in first and p.ok_at is not None]
    from_queue = [first[p.absence] - queued[p.absence.chat_id] for p in ok
                  if p.absence in first and p.absence.chat_id in queued]
    sends = [r for r in records if r["method"] == "sendMessage" and r["ok"]]
    announced = [r for r in sends if MARK in (r["text"] or "")]
    copies = Counter(r["chat_id"] for r in announced)
    if announced:
        start, end = min(r["ts"] for r in announced), max(r["ts"] for r in announced)
    else:
        start = end = 0.0
    span = end - start
    in_window = sum(1 for r in sends if start <= r["ts"] <= end)
    rate = (in_window - 1) / span / RATE if span > 0 else float("nan")
    own = (len(announced) - 1) / span / RATE if span > 0 else float("nan")
    return Figures(
        backend=backend, latencies=latencies, from_queue=from_queue,
        api_times=[p.took for p in posting.posted],
        posted=len(ok), refused=len(posting.posted) - len(ok), missing=len(ok) - len(latencies),
        duplicates=duplicates, too_many=too_many, too_many_chat=refused_per_chat(records),
        recipients=recipients, announced=len(copies),
        announcement_lost=len(set(world.chats) - set(copies)),
        announcement_doubled=sum(n - 1 for n in copies.values() if n > 1),
        rate=rate, own_rate=own, window=(start, end), posting=(posting.started, posting.ended),
        errors=errors)


async def run_backend(backend: str, shape: Shape, scratch: Path) -> Figures:
    label = BACKENDS[backend]
    async with AsyncExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{scratch / 'alerts.sqlite3'}"
        else:
            url = await stack.enter_async_context(fresh_postgres())
        started = time.perf_counter()
        world = await build_world(url, shape)
        say(f"{label}: {shape.parents:,} families in {SCHOOLS} schools, {len(world.absences)} "
            f"absences chosen ({time.perf_counter() - started:.1f} s)")
        log = ServerLog(scratch / f"telegram-{backend}.jsonl")
        api_url = await stack.enter_async_context(fake_telegram(log.path))
        processes = await stack.enter_async_context(
            running(processes_for(backend, url, api_url, shape, scratch)))
        urls = [f"http://{p.address}" for p in processes if p.address]
        say(f"{label}: {', '.join(p.name for p in processes)} running; the API at {', '.join(urls)}")
        recipients = await queue_announcement(url)
        say(f"{label}: announcement queued to {recipients:,} chats")
        await wait_until(lambda: log.announced() >= min(2 * RATE, recipients / 10), 120)
        posting = await post_absences(world, urls, shape.seconds, random.Random(11))
        refused = [p for p in posting.posted if p.ok_at is None]
        say(f"{label}: {len(posting.posted) - len(refused)} absences posted in "
            f"{posting.ended - posting.started:.1f} s ({len(refused)} refused"
            + (f", e.g. {refused[0].answer!r}" if refused else "") + ")")
        scan = shape.scan_interval if shape.scan_interval is not None else 20.0
        ok = [p.absence for p in posting.posted if p.ok_at is not None]
        await wait_until(lambda: len(first_arrivals(log.read(), ok)[0]) >= len(ok), 2 * scan + 30)
        await wait_until(lambda: log.announced() >= recipients,
                         recipients / RATE * 1.5 + 60)
        too_many = await rejected_429(api_url)
        errors = sum(p.errors for p in processes)
        queued = await alerts_queued_at(url)
    return measure(label, log.read(), world, posting, recipients, too_many, errors, queued)


async def wait_until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.25)
    return True


# ---------------------------------------------------------------- report


def seconds_text(values: list[float], p: float) -> str:
    value = percentile(values, p)
    return "-" if value != value else f"{value:.2f}"


def report(figures: Figures) -> None:
    f = figures
    lat = f.latencies
    label = f.backend
    start = f.window[0]
    say(f"{label}: alert latency p50 / p95 / p99 / max  "
        f"{' / '.join(seconds_text(lat, p) for p in (50, 95, 99, 100))} s   "
        f"(goal p99 <= {GOAL_P99:g} s)")
    say(f"{label}: of which queued -> delivered p50 / p99 / max  "
        f"{' / '.join(seconds_text(f.from_queue, p) for p in (50, 99, 100))} s")
    say(f"{label}: alerts missing / duplicates  {f.missing} / {f.duplicates} of {f.posted}   (goal 0 / 0)")
    say(f"{label}: 429 answers  {f.too_many} ({f.too_many_chat} by the per-chat limit)   (goal 0)")
    say(f"{label}: announcement rate / limit  {f.rate:.3f} (the announcement alone "
        f"{f.own_rate:.3f})   (goal >= {GOAL_RATE:g})")
    say(f"{label}: announcement copies  {f.announced:,} of {f.recipients:,}: "
        f"{f.announcement_lost} lost, {f.announcement_doubled} doubled   (goal 0 / 0)")
    say(f"    (announcement {0:.1f}-{f.window[1] - start:.1f} s; absences posted "
        f"{f.posting[0] - start:.1f}-{f.posting[1] - start:.1f} s; API answer p50 / p99 "
        f"{percentile(f.api_times, 50) * 1000:.0f} / {percentile(f.api_times, 99) * 1000:.0f} ms; "
        f"{f.refused} absences refused; {f.errors} ERROR lines in the bot's logs)")


def summary(results: list[Figures]) -> str:
    rows = []
    for f in results:
        lat = f.latencies
        rows.append((f.backend, *(seconds_text(lat, p) for p in (50, 95, 99, 100)),
                     f.missing, f.duplicates, f.too_many, f"{f.rate:.3f}"))
    rows.append(("goal", "", "", f"<= {GOAL_P99:g}", "", 0, 0, 0, f">= {GOAL_RATE:g}"))
    return table(["", "p50 s", "p95 s", "p99 s", "max s", "missing", "duplicates", "429",
                  "rate / limit"], rows)


# ---------------------------------------------------------------- main


async def bench(args: argparse.Namespace) -> int:
    shape = Shape(args.parents, args.absences, args.seconds, args.scan_interval)
    say(f"alerts: {shape.describe()}")
    results: list[Figures] = []
    failed = False
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        if backend == "postgres" and (problem := await postgres_available()) is not None:
            say(f"PostgreSQL: skipped ({problem})")
            continue
        with tempfile.TemporaryDirectory(prefix="alerts-") as tmp:
            try:
                figures = await run_backend(backend, shape, Path(tmp))
                if args.keep is not None:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    shutil.copy(Path(tmp) / f"telegram-{backend}.jsonl", args.keep)
            except Exception as exc:  # noqa: BLE001 - the other database is still measured
                say(f"{BACKENDS[backend]}: FAILED: {type(exc).__name__}: {exc}")
                failed = True
                continue
        report(figures)
        results.append(figures)
    if results:
        say(f"\nalerts ({shape.describe()}; wall clock on a shared machine: noisy)")
        say(summary(results))
    return 1 if failed else 0


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 900 parents, 100 absences over 20 s (unless given)")
    parser.add_argument("--parents", type=int, default=None, help="the announcement's recipients")
    parser.add_argument("--absences", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=None, help="the absences are posted over")
    parser.add_argument("--scan-interval", type=float, default=None,
                        help="NOTIFY_ABSENCE_INTERVAL for the bot (default: the product's)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="copy the fake Bot API's log of each run into this folder")
    args = parser.parse_args(argv)
    full = {"parents": 3000, "absences": 500, "seconds": 60.0}
    quick = {"parents": 900, "absences": 100, "seconds": 20.0}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.absences < 1 or args.parents < SCHOOLS or args.seconds <= 0:
        parser.error(f"--absences >= 1, --parents >= {SCHOOLS} and --seconds > 0")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(bench(parse(argv)))


if __name__ == "__main__":
    sys.exit(main())
