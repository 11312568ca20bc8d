"""The Viber front door end to end: signed callbacks in, messages out through the fake
Viber API; linking needs the school's one-time code because Viber cannot vouch for a
contact."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from school_bot.storage.db import Database
from school_bot.storage.invites import issue_code
from school_bot.storage.models import Account, OutboxMessage, ProcessedCallback, utc_now
from tests.support.viber_rig import ViberRig, viber_rig
from tests.support.world import World, grade, guardian, school, school_class, student

PHONE = "+380671234567"
USER = "viber-user-1"


async def _family(db: Database, *, launched: bool = True) -> dict[str, str]:
    """Two families of class 7-А, a grade each today; their guardians' invitation codes."""
    today = datetime.now(ZoneInfo("Europe/Kyiv")).date()  # the school's day
    await World(db).add(
        school("S1", "Ліцей №1", launched=launched), school_class("C1", "S1", "7-А"),
        student("P1", "C1", "Бондар Марія Олегівна"), student("P2", "C1", "Гнатюк Петро Іванович"),
        guardian("G1", "Бондар Олег Петрович", PHONE, children=["P1"]),
        guardian("G2", "Гнатюк Іван Сергійович", "+380931112233", children=["P2"]),
        grade("GR1", "P1", "Математика", 11, today),
        grade("GR2", "P2", "Математика", 4, today))
    async with db.unit_of_work() as s:
        return {"G1": await issue_code(s, "G1"), "G2": await issue_code(s, "G2")}


async def _accounts(db: Database) -> list[Account]:
    async with db.unit_of_work() as s:
        return list((await s.scalars(select(Account))).all())


async def _chats(db: Database) -> list[tuple[str, bool]]:
    """Each stored chat and whether it is linked."""
    return sorted((a.chat_id, a.linked) for a in await _accounts(db))


async def test_unsigned_or_wrongly_signed_callbacks_get_403_and_reach_nothing(db: Database) -> None:
    await _family(db)
    async with viber_rig(db) as rig:
        for kw in ({"sign": False}, {"bad_signature": True}):
            status, _ = await rig.callback(rig.api.message_text(USER, "/start"), **kw)
            assert status == 403
        assert rig.api.sent == []
    assert await _accounts(db) == []


async def test_webhook_check_unknown_events_and_bad_json_are_answered_calmly(db: Database) -> None:
    async with viber_rig(db) as rig:
        assert (await rig.callback(rig.api.webhook_event()))[0] == 200
        assert (await rig.callback(rig.api.unknown_event(USER)))[0] == 200
        body = b"{not json"
        async with rig.api.client().post(rig.url, data=body, headers={
                "X-Viber-Content-Signature": rig.api.sign(body)}) as response:
            assert response.status == 400
        assert rig.api.sent == []


async def test_conversation_started_welcomes_with_a_share_phone_keyboard(db: Database) -> None:
    async with viber_rig(db) as rig:
        status, text = await rig.callback(rig.api.conversation_started(USER))
    assert status == 200
    answer = json.loads(text)
    assert answer["type"] == "text" and answer["text"].startswith("Вітаю!")
    buttons = answer["keyboard"]["Buttons"]
    assert any(b["ActionType"] == "share-phone" for b in buttons)
    assert answer["min_api_version"] >= 3


async def test_a_contact_alone_never_links_on_viber(db: Database) -> None:
    await _family(db)
    async with viber_rig(db) as rig:
        replies = await rig.share_phone(USER, PHONE)
        assert replies == ["Дякую. Тепер введіть код запрошення, який вам дала школа."]
    assert await _chats(db) == [(USER, False)]


async def test_contact_then_the_right_code_links_and_grades_follow(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        [account] = await _accounts(db)
        assert list(account.guardian_ids) == ["G1"]
        answer = "\n".join(await rig.say(USER, "/grades"))
        assert "11" in answer and "Математика" in answer


async def test_deep_link_code_from_conversation_started_links_after_subscribing(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.callback(rig.api.conversation_started(USER, context=codes["G1"].replace("-", "")))
        await rig.callback(rig.api.subscribed(USER))
        await rig.share_phone(USER, PHONE)
    linked = [a for a in await _accounts(db) if a.linked]
    assert [list(a.guardian_ids) for a in linked] == [["G1"]]


async def test_someone_elses_code_or_a_wrong_code_does_not_link(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G2"])        # another guardian's code
        await rig.say(USER, "AAAA-BBBB-CC")     # a made-up one
    assert await _chats(db) == [(USER, False)]


async def test_used_and_expired_codes_are_refused(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        await rig.share_phone("viber-user-2", PHONE)
        await rig.say("viber-user-2", codes["G1"])  # reused
    async with db.unit_of_work() as s:
        second = await s.scalar(select(Account).where(Account.chat_id == "viber-user-2"))
    assert second is not None and not second.linked
    await World(db).add(guardian("G3", "Кравець Ніна Олексіївна", "+380501234567", children=["P1"]))
    async with db.unit_of_work() as s:
        expired = await issue_code(s, "G3", lifetime=timedelta(seconds=-1))
    async with viber_rig(db) as rig:
        await rig.share_phone("viber-user-3", "+380501234567")
        await rig.say("viber-user-3", expired)
    async with db.unit_of_work() as s:
        third = await s.scalar(select(Account).where(Account.chat_id == "viber-user-3"))
        assert third is not None and not third.linked


async def test_wrong_codes_lock_the_chat_out(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        for n in range(8):
            await rig.say(USER, f"ZZZZ-ZZZZ-{n:02d}")
        await rig.say(USER, codes["G1"])  # even the right code waits out the lockout
    assert await _chats(db) == [(USER, False)]


async def test_a_forged_button_payload_for_another_familys_pupil_gets_no_data(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        await rig.say(USER, "/grades")
        keyboard = json.dumps(rig.last_keyboard(USER), ensure_ascii=False)
        assert "P2" not in keyboard
        own = [body for body in _payloads(keyboard) if "P1" in body]
        assert own, keyboard  # the grades' buttons name Марія (P1): each is forged for Петро
        for payload in own:
            replies = await rig.press(USER, payload.replace("P1", "P2"))
            assert replies == ["Ця кнопка вам недоступна. Будь ласка, відкрийте меню ще раз."]


def _payloads(keyboard_json: str) -> list[str]:
    keyboard = json.loads(keyboard_json)
    return [b["ActionBody"][4:] for b in keyboard.get("Buttons", []) if b["ActionBody"].startswith("btn:")]


async def test_the_same_callback_twice_has_one_effect(db: Database) -> None:
    await _family(db)
    async with viber_rig(db) as rig:
        event = rig.api.message_text(USER, "/help")
        await rig.callback(event)
        first = len(rig.api.messages_to(USER))
        await rig.callback(event)
        assert len(rig.api.messages_to(USER)) == first > 0
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(ProcessedCallback)) == 1


async def test_delivery_receipts_and_unsubscribe_are_recorded(db: Database) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        [account] = await _accounts(db)
        async with db.unit_of_work() as s:
            s.add_all([
                OutboxMessage(account_id=account.id, kind="grade", dedupe_key="a", payload={"text": "x"},
                              status="sent", platform_message_id="9001", sent_at=utc_now()),
                OutboxMessage(account_id=account.id, kind="grade", dedupe_key="b", payload={"text": "y"},
                              status="queued"),
            ])
        await rig.callback(rig.api.delivered(USER, 9001))
        await rig.callback(rig.api.seen(USER, 9001))
        await rig.callback(rig.api.unsubscribed_event(USER))
    async with db.unit_of_work() as s:
        rows = {r.dedupe_key: r for r in (await s.scalars(select(OutboxMessage))).all()}
        assert rows["a"].delivered_at is not None and rows["a"].seen_at is not None
        assert rows["b"].status == "blocked"
        refreshed = await s.get(Account, account.id)
        assert refreshed is not None and refreshed.active is False


async def test_unlaunched_school_gives_no_access_on_viber(db: Database) -> None:
    codes = await _family(db, launched=False)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        answer = "\n".join(await rig.say(USER, "/grades"))
    assert "11" not in answer.split()
    assert await _chats(db) == [(USER, False)]


async def _link(rig: ViberRig, user: str, code: str, language: str) -> None:
    await rig.callback(rig.api.message_contact(user, PHONE, language=language))
    await rig.callback(rig.api.message_text(user, code, language=language))


async def test_every_menu_answer_works_on_viber_in_both_languages(db: Database) -> None:
    from school_bot.handlers.menu import labels

    codes = await _family(db)
    async with viber_rig(db) as rig:
        for user, language in (("viber-uk", "uk"), ("viber-en", "en")):
            async with db.unit_of_work() as s:  # a fresh code for each chat
                code = codes["G1"] if language == "uk" else await issue_code(s, "G1")
            await _link(rig, user, code, language)
            keyboard = json.dumps(rig.last_keyboard(user), ensure_ascii=False)
            wanted = labels(language)
            assert all(label in keyboard for label in wanted.values()), keyboard
            for command in ("grades", "rating", "homework", "schedule", "absences", "events",
                            "settings", "help"):
                before = len(rig.api.messages_to(user))
                await rig.callback(rig.api.message_text(user, wanted[command], language=language))
                answer = rig.api.messages_to(user)[before:]
                assert answer and all(part.strip() for part in answer), command
            grades = "\n".join(await rig.say(user, wanted["grades"], language=language))
            assert "11" in grades


async def test_a_viber_parent_gets_answers_while_another_process_holds_the_write_lock(
        sqlite_db_url: str) -> None:
    """A diary view on Viber reads committed data and waits for no writer: the callback's
    repeat guard of a view is kept in memory, not written with the answer."""
    db = Database.connect(sqlite_db_url)
    try:
        codes = await _family(db)
        async with viber_rig(db) as rig:
            await rig.share_phone(USER, PHONE)
            await rig.say(USER, codes["G1"])
            await rig.say(USER, "/grades")  # the first view may store the chosen pupil
            writer = sqlite3.connect(sqlite_db_url.split("///", 1)[1], isolation_level=None)
            try:
                writer.execute("BEGIN IMMEDIATE")  # an import's transaction, seconds long
                writer.execute("UPDATE grades SET value = 2 WHERE id = 'GR1'")
                answer = await asyncio.wait_for(rig.say(USER, "/grades"), timeout=5)
                assert "11" in "\n".join(answer) and "Математика" in "\n".join(answer)
                writer.execute("COMMIT")
            finally:
                writer.close()
            answer = await rig.say(USER, "/grades")
            assert "2" in "\n".join(answer)
    finally:
        await db.dispose()


async def test_a_viber_message_is_one_turn_and_a_repeat_is_not_handled_again(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    codes = await _family(db)
    async with viber_rig(db) as rig:
        await rig.share_phone(USER, PHONE)
        await rig.say(USER, codes["G1"])
        caplog.clear()
        with caplog.at_level("INFO", logger="school_bot.bot.turns"):
            event = rig.api.message_text(USER, "/grades", token=777001)
            first = await rig.callback(event)
            repeat = await rig.callback(event)  # Viber retries what it got no 200 for
    turns = [r.getMessage() for r in caplog.records if r.name == "school_bot.bot.turns"]
    assert [t.split(" ms=")[0] for t in turns] == [
        "turn handled platform=viber kind=command", "turn repeated platform=viber kind=command"]
    assert first[0] == repeat[0] == 200 and "duplicate" in repeat[1]
