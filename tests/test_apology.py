"""A turn the core fails on is answered with an apology in the user's language, by the
Viber and the Telegram front doors alike: the chat's account language, else the
messenger's if we speak it, else the default (uk).

The core fails for real: a table it reads is taken away under the running bot (as a
half-undone migration would leave it) and put back afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from school_bot.shared.i18n import t
from school_bot.storage.db import Database
from school_bot.storage.invites import issue_code
from tests.support.small_school import PHONES, small_school
from tests.support.telegram_rig import telegram_rig, texts
from tests.support.viber_rig import ViberRig, viber_rig

CHOOSE_ENGLISH = "st:l:en"  # the language button of the settings


@asynccontextmanager
async def _table_gone(db: Database, table: str) -> AsyncIterator[None]:
    async with db.engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {table} RENAME TO {table}_gone"))
    try:
        yield
    finally:
        async with db.engine.begin() as conn:
            await conn.execute(text(f"ALTER TABLE {table}_gone RENAME TO {table}"))


async def _link_on_viber(rig: ViberRig, user: str, guardian: str, phone: str) -> None:
    async with rig.database.unit_of_work() as session:
        code = await issue_code(session, guardian)
    await rig.share_phone(user, phone)
    await rig.say(user, code)


async def test_a_failed_viber_turn_is_apologised_for_in_the_accounts_language(
        db: Database) -> None:
    await small_school(db)
    async with viber_rig(db) as rig:
        await _link_on_viber(rig, "viber-bondar", "g-bondar", PHONES.bondar)  # Viber says uk
        await rig.press("viber-bondar", CHOOSE_ENGLISH)
        await _link_on_viber(rig, "viber-moroz", "g-moroz", PHONES.teacher_parent)
        assert "Іван" in "\n".join(await rig.say("viber-bondar", "/grades"))  # linked, answered
        async with _table_gone(db, "grades"):
            english = await rig.say("viber-bondar", "/grades", language="uk")
            ukrainian = await rig.say("viber-moroz", "/grades", language="en")
    assert english == [t("en", "error.apology")]
    assert ukrainian == [t("uk", "error.apology")]
    assert t("en", "error.apology") != t("uk", "error.apology")


async def test_a_failed_viber_turn_without_an_account_follows_the_messenger(db: Database) -> None:
    async with viber_rig(db) as rig, _table_gone(db, "accounts"):
        english = await rig.say("viber-new-1", "Привіт", language="en")
        unknown = await rig.say("viber-new-2", "Hallo", language="de")
    assert english == [t("en", "error.apology")]
    assert unknown == [t("uk", "error.apology")]  # DEFAULT_LOCALE


async def test_a_failed_telegram_turn_follows_the_same_rule(db: Database) -> None:
    await small_school(db)
    bondar, moroz = 5102, 5105
    async with telegram_rig(db) as rig:
        await rig.chat(bondar).share_contact(PHONES.bondar)  # Telegram says uk
        await rig.chat(bondar).press(CHOOSE_ENGLISH)
        await rig.chat(moroz).share_contact(PHONES.teacher_parent)
        assert "Іван" in "\n".join(texts(await rig.chat(bondar).send("/grades")))
        async with _table_gone(db, "grades"):
            english = texts(await rig.chat(bondar, "uk").send("/grades"))
            ukrainian = texts(await rig.chat(moroz, "en").send("/grades"))
    assert english == [t("en", "error.apology")]
    assert ukrainian == [t("uk", "error.apology")]
