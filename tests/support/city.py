"""The reports' small city, whose every count is known, made with the world's vocabulary.

School A has classes 5-А (three pupils), 10-А (one) and 11-А (none); school B has 7-Б.
"Now" is Friday 14 March 2025, 12:00 in Kyiv. The reports' expected figures are counted
by hand from these rows; the comments say which rows make them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from school_bot.storage.db import Database
from school_bot.storage.models import Account, Base, Lesson, OutboxMessage
from tests.support.world import (
    Rows,
    World,
    account,
    attendance,
    guardian,
    lesson,
    notification,
    school,
    school_class,
    staff,
    student,
)

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=KYIV)
GUARDIAN_NAMES = ("Шевченко Тарас Григорович", "Франко Іван Якович", "Косач Лариса Петрівна",
                  "Стус Василь Семенович", "Теліга Олена Іванівна")
GUARDIAN_PHONES = ("+380501112201", "+380501112202", "+380501112203", "+380501112204", "+380501112205")


def clock() -> datetime:
    return NOW


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


async def build_city(db: Database) -> World:
    world = World(db)
    chats = _chats()
    await world.add(_schools(), _families(), chats.values(), _lessons(), _attendance())
    await world.add(_notifications({name: account.id for name, account in chats.items()}))
    return world


def _schools() -> list[Base]:
    return [school("sa", "Школа А"), school("sb", "Школа Б"),
            school_class("a5", "sa", "5-А"), school_class("a10", "sa", "10-А"),
            school_class("a11", "sa", "11-А"), school_class("b7", "sb", "7-Б"),
            staff("t1", "sa", "Коваль Ірина Петрівна"), staff("t2", "sa", "Мельник Олег Іванович"),
            staff("t3", "sb", "Бойко Анна Сергіївна")]


def _families() -> list[Rows]:
    children = {"g1": ["p1", "p5"],          # g1: a child in each school
                "g2": ["p1", "p2"],          # g2: two children in 5-А (counted once there)
                "g3": ["p3"],                # g3: no consent
                "g4": ["p2", "p4"],          # g4: 5-А and 10-А
                "g5": ["p5"]}
    return [*(student(f"p{n}", c, f"Учень {n}")
              for n, c in ((1, "a5"), (2, "a5"), (3, "a5"), (4, "a10"), (5, "b7"))),
            *(guardian(f"g{n}", GUARDIAN_NAMES[n - 1], GUARDIAN_PHONES[n - 1], consent=n != 3,
                       children=children[f"g{n}"]) for n in range(1, 6))]


def _chats() -> dict[str, Account]:
    return {
        "g1_tg": account("101", guardians=["g1"]),
        "g2_vb": account("vb-102", platform="viber", guardians=["g2"]),
        "g2_tg": account("102", guardians=["g2"]),
        "g4_tg": account("104", guardians=["g4"], active=False),  # blocked us
        "g4_console": account("c104", platform="console", guardians=["g4"]),
        "g5_tg": account("105", guardians=["g5"]),
        "t1_tg": account("201", staff_id="t1"),
    }


def _lesson(key: str, cls: str, teacher: str, day: date, start: time, topic: str | None = "Тема",
            reminded: bool = False) -> Lesson:
    return lesson(key, cls, "Математика", teacher, day, start, topic=topic,
                  reminded_at=utc(day.day, 12) if reminded else None)


def _lessons() -> list[Lesson]:
    morning, afternoon = time(8, 30), time(13, 0)
    return [
        _lesson("L1", "a5", "t1", date(2025, 3, 10), morning, "Дроби"),
        _lesson("L2", "a5", "t1", date(2025, 3, 11), morning, None, reminded=True),
        _lesson("L3", "a10", "t1", date(2025, 3, 12), morning, "   ", reminded=True),  # a blank topic
        _lesson("L4", "a5", "t1", date(2025, 3, 14), morning, "Відсотки"),  # today, over by noon
        _lesson("L5", "a5", "t1", date(2025, 3, 14), afternoon, "Не почався"),  # today, not yet
        _lesson("L6", "a5", "t1", date(2025, 3, 7), morning),  # the week before
        _lesson("L7", "a10", "t2", date(2025, 3, 13), morning),
        _lesson("L8", "b7", "t3", date(2025, 3, 13), morning),
        _lesson("L9", "a5", "t9", date(2025, 3, 10), afternoon),  # a teacher the staff list lacks
        _lesson("L10", "a5", "t1", date(2025, 3, 17), morning),  # next Monday
        _lesson("L11", "a10", "t2", date(2025, 3, 16), morning),  # a Sunday: still ISO week 11
        _lesson("L12", "a10", "t2", date(2025, 3, 17), morning),  # Monday: ISO week 12
    ]


def _attendance() -> list[Base]:
    return [attendance(p, lesson_id, status) for lesson_id, p, status in (
        ("L6", "p1", "absent"), ("L6", "p2", "late"), ("L6", "p3", "present"),
        ("L1", "p1", "absent"), ("L1", "p2", "excused"), ("L1", "p3", "present"),
        ("L2", "p1", "absent"), ("L2", "p2", "present"), ("L2", "p3", "late"),
        ("L4", "p1", "present"), ("L9", "p1", "present"),
        ("L8", "p5", "absent"), ("L11", "p4", "excused"), ("L12", "p4", "late"))]


def _notifications(account: dict[str, int]) -> list[OutboxMessage]:
    def out(n: int, chat_name: str, kind: str, status: str, at: datetime, *,
            delivered: bool = False, seen: bool = False,
            receipt_error: str | None = None) -> OutboxMessage:
        return notification(account[chat_name], kind, f"k{n}", status=status, created_at=at,
                            next_attempt_at=at, delivered_at=at if delivered else None,
                            seen_at=at if seen else None, receipt_error=receipt_error)

    return [
        out(1, "g1_tg", "absence", "sent", utc(9, 23)),  # 01:00 on the 10th in Kyiv: inside
        out(2, "g2_vb", "absence", "sent", utc(11, 8), delivered=True),
        out(3, "g2_vb", "absence", "sent", utc(11, 8), delivered=True, seen=True),
        out(4, "g4_tg", "absence", "blocked", utc(12, 8)),
        out(5, "g2_tg", "grades", "queued", utc(12, 9)),
        out(6, "g2_tg", "grades", "sending", utc(12, 9)),
        out(7, "g2_tg", "grades", "retry", utc(12, 9)),
        out(8, "g2_tg", "grades", "dead", utc(12, 9)),
        out(9, "t1_tg", "diary_reminder", "sent", utc(12, 10)),
        out(10, "g5_tg", "absence", "sent", utc(13, 8)),  # school B only
        out(11, "g1_tg", "absence", "sent", utc(9, 21, 30)),  # 23:30 on the 9th in Kyiv: outside
        out(12, "g2_vb", "absence", "sent", utc(11, 9), receipt_error="message validation failed"),
    ]
