"""What the API tests share: the real web app served on 127.0.0.1, a client, keys, and
records as the school system posts them (`seed_school`: a small school through the API)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from multidict import CIMultiDictProxy

from school_bot.notifications.wake import Wake
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.web.api import register_api
from school_bot.web.app import RouteRegistrar, build_web_app
from school_bot.web.auth import FailedAuthLimiter, create_key
from school_bot.web.health import register_health
from school_bot.web.metrics import METRICS_KEY, Metrics


def settings_for(database: Database, **overrides: Any) -> Settings:
    return Settings(_env_file=None, database_url=database.url, **overrides)


@dataclass
class Answer:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]


@dataclass
class ApiServer:
    base_url: str
    client: ClientSession
    app: web.Application

    @property
    def metrics(self) -> Metrics:
        return self.app[METRICS_KEY]

    async def post(self, entity: str, records: Any = None, *, key: str | None = None,
                   raw: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        data = raw if raw is not None else json.dumps(records, ensure_ascii=False).encode()
        sent.setdefault("Content-Type", "application/json")
        async with self.client.post(f"{self.base_url}/api/v1/{entity}", data=data,
                                    headers=sent) as response:
            return await _answer(response)

    async def get(self, path: str, *, key: str | None = None) -> Answer:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        async with self.client.get(self.base_url + path, headers=headers) as response:
            return await _answer(response)


async def _answer(response: Any) -> Answer:
    text = await response.text()
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    return Answer(response.status, body, response.headers)


@asynccontextmanager
async def serve(database: Database, settings: Settings | None = None, *,
                limiter: FailedAuthLimiter | None = None, health_timeout: float = 2.0,
                registrars: Iterable[RouteRegistrar] = (),
                wake: Wake | None = None) -> AsyncIterator[ApiServer]:
    """The production app (same registrars as the composition root) on a free port;
    `wake` is the one a test's NotificationService listens on (the process's)."""
    app = build_web_app(database, settings or settings_for(database), [
        Metrics().register,
        partial(register_health, timeout=health_timeout),
        partial(register_api, limiter=limiter, wake=wake),
        *registrars,
    ])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ClientSession(timeout=ClientTimeout(total=60)) as client:
            yield ApiServer(f"http://127.0.0.1:{port}", client, app)
    finally:
        await runner.cleanup()


async def new_key(database: Database, school_id: str | None, name: str = "test key") -> str:
    async with database.unit_of_work() as session:
        return (await create_key(session, school_id=school_id, name=name, actor="test")).secret


# ---------------------------------------------------------------- a small school


def school(school_id: str, **extra: Any) -> dict[str, Any]:
    return {"school_id": school_id, "name": f"Школа №{school_id}", "launched": "yes", **extra}


def school_class(class_id: str, school_id: str) -> dict[str, Any]:
    return {"class_id": class_id, "school_id": school_id, "name": "7-А"}


def student(student_id: str, class_id: str) -> dict[str, Any]:
    return {"student_id": student_id, "class_id": class_id, "full_name": "Шевченко Тарас Григорович"}


def guardian(guardian_id: str, student_id: str, phone: str = "050 123 45 67") -> dict[str, Any]:
    return {"guardian_id": guardian_id, "student_id": student_id,
            "full_name": "Шевченко Ганна Іванівна", "phone": phone, "consent": "yes"}


def staff(staff_id: str, school_id: str, phone: str = "+380671112233") -> dict[str, Any]:
    return {"staff_id": staff_id, "school_id": school_id, "full_name": "Коваль Олена Петрівна",
            "phone": phone, "role": "teacher", "consent": "yes"}


def lesson(lesson_id: str, class_id: str, teacher_id: str, day: str = "2024-09-02") -> dict[str, Any]:
    return {"lesson_id": lesson_id, "class_id": class_id, "subject": "Математика",
            "teacher_id": teacher_id, "date": day, "starts_at": "08:30", "ends_at": "09:15",
            "number": 1}


def grade(grade_id: str, student_id: str, value: int = 10) -> dict[str, Any]:
    return {"grade_id": grade_id, "student_id": student_id, "subject": "Математика",
            "date": "2024-09-02", "value": value}


def phone_of(school_id: str, person: int) -> str:
    """A valid Ukrainian mobile number, different for each school and person."""
    return f"+38050{1_000_000 + sum(map(ord, school_id)) * 100 + person:07d}"


async def seed_school(server: ApiServer, department_key: str, school_id: str, *,
                      day: str = "2024-09-02") -> None:
    """A school with one class, teacher, lesson, pupil and guardian, posted through the API."""
    c, t, s = f"{school_id}-7A", f"{school_id}-T1", f"{school_id}-S1"
    for entity, records in (
        ("schools", [school(school_id)]),
        ("classes", [school_class(c, school_id)]),
        ("staff", [staff(t, school_id, phone_of(school_id, 1))]),
        ("students", [student(s, c)]),
        ("guardians", [guardian(f"{school_id}-G1", s, phone_of(school_id, 2))]),
        ("lessons", [lesson(f"{school_id}-L1", c, t, day)]),
    ):
        answer = await server.post(entity, records, key=department_key)
        assert answer.status == 200, (entity, answer.body)
