"""Extensions plug commands, buttons, text steps and settings entries into the core;
answers stay at a fixed number of queries (no N+1)."""

from __future__ import annotations

from sqlalchemy import event

from school_bot.handlers.conversation import Conversation
from school_bot.handlers.extensions import Extension
from school_bot.handlers.turn import Turn
from school_bot.shared.events import Button, Reply
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from tests.support.chat_client import ChatClient
from tests.support.core import linked, school_and_core
from tests.support.small_school import PHONES, clock, small_school


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
    settings = Settings(_env_file=None, database_url=db.url)  # type: ignore[call-arg]
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


async def test_a_view_costs_three_queries_whatever_the_data(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.koval)
    await parent.send("/grades")
    await parent.press("Ольга")
    statements: list[str] = []
    event.listen(db.engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: statements.append(statement))
    for command in ("/grades", "/rating", "/homework", "/schedule", "/absences", "/events"):
        statements.clear()
        await parent.send(command)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) <= 3, (command, selects)  # the chat, its family, the answer
