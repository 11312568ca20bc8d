"""Extensions plug commands, buttons, text steps and settings entries into the core;
answers stay at a fixed number of queries (no N+1)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

import sqlalchemy

from school_bot.handlers.conversation import Conversation
from school_bot.handlers.extensions import Extension
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Reply
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.fast import Query, Reader
from tests.support.chat_client import ChatClient
from tests.support.core import linked, school_and_core
from tests.support.small_school import NOW, PHONES, TODAY, TOMORROW, clock, small_school
from tests.support.world import World, attendance, event, grade, homework, lesson


class Directory(Extension):
    """A small extension written the way the class directory is: a command, a button,
    a text step and a settings entry."""

    command, prefix, listed = "directory", "dir:", True

    def description(self, locale: str) -> str:
        return "Class directory"

    async def start(self, turn: Turn) -> list[Reply]:
        turn.remember(dir="waiting")
        return [Reply(text="Whom to write to?", buttons=[[Button("Mom of Olha", "dir:1")]])]

    def wants_text(self, turn: Turn) -> bool:
        return turn.state("dir") == "waiting"

    async def text(self, turn: Turn, text: str) -> list[Reply]:
        turn.remember(dir=None)
        return [Reply(text=f"relayed: {text}")]

    async def press(self, turn: Turn, payload: str) -> list[Reply]:
        return [Reply(text=f"pressed {payload}")]

    def settings_buttons(self, turn: Turn) -> list[Button]:
        return [Button("Directory: off", "dir:toggle")]


async def test_an_extension_gets_its_command_buttons_text_and_settings_entry(db: Database) -> None:
    await small_school(db)
    settings = Settings(_env_file=None, database_url=db.url)
    core = Conversation(settings, clock=clock, extensions=[Directory()])
    parent = ChatClient(db, core)
    await parent.share_contact(PHONES.bondar)
    await parent.send("/help")
    assert "/directory — Class directory" in parent.last_text
    await parent.send("/directory")
    await parent.press("Mom of Olha")
    assert parent.last_text == "pressed dir:1"
    await parent.send("Дякую за допомогу!")  # the flow waits for text: it gets it
    assert parent.last_text == "relayed: Дякую за допомогу!"
    await parent.send("/directory")
    await parent.press("Оцінки")  # a menu press leaves the flow for the grades
    assert "Іван (5-А): оцінки" in parent.last_text
    await parent.send("/settings")
    await parent.press("Directory: off")
    assert parent.last_text == "pressed dir:toggle"


async def test_a_staff_member_gets_the_announce_command_from_its_extension(db: Database) -> None:
    core = await school_and_core(db)
    teacher = await linked(db, core, PHONES.teacher_parent)
    assert "Оголошення" in teacher.menu
    bondar = await linked(db, core, PHONES.bondar, "other")
    assert "Оголошення" not in bondar.menu


@dataclass
class CountedReads(Reader):
    """The process's reader, noting each read that goes through it."""

    reader: Reader
    reads: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dialect = self.reader.dialect

    async def fetch(self, query: Query, values: dict[str, Any]) -> list[Any]:
        self.reads.append(query.row.__name__)
        return await self.reader.fetch(query, values)

    async def close(self) -> None:
        await self.reader.close()


async def test_a_view_costs_the_same_few_queries_whatever_the_data(db: Database) -> None:
    """A diary view reads through the process's reader (storage/fast.py), and anything
    else through the engine: both are counted, before and after Ольга's diary grows."""
    assert db.reader is not None
    counted = CountedReads(db.reader)
    watched = dataclasses.replace(db, reader=counted)
    selects: list[str] = []
    sqlalchemy.event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: selects.append(statement)
                 if statement.lstrip().upper().startswith("SELECT") else None)
    core = await school_and_core(db)
    parent = await linked(watched, core, PHONES.koval)
    await parent.send("/grades")
    await parent.press("Ольга")

    async def costs() -> dict[str, list[str]]:
        spent = {}
        for command in ("/grades", "/rating", "/homework", "/schedule", "/absences", "/events"):
            counted.reads.clear()
            selects.clear()
            await parent.send(command)
            spent[command] = counted.reads + selects
        return spent

    before = await costs()
    await World(db).add(
        [grade(f"gr-more-{n}", "st-olha", f"Предмет {n % 4}", 7, TODAY - timedelta(days=n))
         for n in range(30)],
        [homework(f"hw-more-{n}", "cls-5a", f"Предмет {n}", TOMORROW, "Вправа") for n in range(8)],
        [event(f"ev-more-{n}", "sch-1", f"Подія {n}", NOW + timedelta(days=n + 1))
         for n in range(8)],
        [lesson(f"ls-more-{n}", "cls-5a", "Читання", "t-moroz", TODAY - timedelta(days=n),
                time(12, 0)) for n in range(1, 8)],
        [attendance("st-olha", f"ls-more-{n}", "absent") for n in range(1, 8)])
    after = await costs()
    assert "Предмет 3" in (await parent.send("/grades"))[0].text  # the new rows are read
    assert after == before
    for command, reads in before.items():  # the chat with its family, then the answer
        assert len(reads) == 2 and reads[0] == "AccountAndFamily", (command, reads)
