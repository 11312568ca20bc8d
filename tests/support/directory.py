"""The class directory's world and a parent's moves in it, shared by the directory's and
the parent-to-parent messages' tests.

The small school's class 5-А (its homeroom teacher t-moroz), plus class 6-Б of the same
school with the parent Ткач Юлія, whom the parents of 5-А must never see or reach.
"""

from __future__ import annotations

from school_bot.handlers.conversation import Conversation
from school_bot.storage.db import Database
from school_bot.storage.models import SchoolClass
from tests.support.chat_client import ChatClient
from tests.support.core import linked, school_and_core
from tests.support.small_school import PHONES
from tests.support.world import World, guardian, school_class, student

OTHER_PHONE = "+380501110010"
CHAT = {"koval": "7730001", "bondar": "7730002", "other": "7730003", "teacher": "7730004"}
SECRETS = [*(p for p in vars(PHONES).values()), OTHER_PHONE, *CHAT.values()]
SECRETS += [phone[3:] for phone in SECRETS if phone.startswith("+380")]  # 0501110001


async def directory_school(db: Database) -> Conversation:
    """The small school, a second class 6-Б, and t-moroz as 5-А's homeroom teacher."""
    core = await school_and_core(db)
    world = World(db)
    await world.add(school_class("cls-6b", "sch-1", "6-Б"),
                    student("st-other", "cls-6b", "Ткач Денис Олегович"),
                    guardian("g-other", "Ткач Юлія Миколаївна", OTHER_PHONE, children=["st-other"]))
    await world.change(SchoolClass, "cls-5a", homeroom_teacher_id="t-moroz")
    return core


async def parent(db: Database, core: Conversation, who: str) -> ChatClient:
    phone = {"koval": PHONES.koval, "bondar": PHONES.bondar, "other": OTHER_PHONE,
             "teacher": PHONES.teacher_parent}[who]
    return await linked(db, core, phone, CHAT[who])


async def turn_on(client: ChatClient) -> None:
    await client.send("/settings")
    await client.press("👥 Довідник класу")
    assert "Видно моєму класу: вимкнено" in client.last_text
    await client.press("Видно моєму класу: вимкнено")
    assert "Видно моєму класу: увімкнено" in client.last_text


async def turn_off(client: ChatClient) -> None:
    await client.send("/settings")
    await client.press("👥 Довідник класу")
    await client.press("Видно моєму класу: увімкнено")
    assert "Видно моєму класу: вимкнено" in client.last_text


def everything(client: ChatClient) -> str:
    """All a parent was shown: the texts, the buttons' labels and their payloads."""
    parts = [r.text for r in client.replies]
    parts += [f"{b.label} {b.payload}" for b in client.buttons]
    return "\n".join(parts)


def assert_no_secrets(text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert leaked == [], leaked
