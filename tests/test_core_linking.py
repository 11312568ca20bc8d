"""Linking a chat: the contact rules, the identical refusals, codes, throttling, unlinking."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from school_bot.shared.events import Platform
from school_bot.storage.db import Database
from school_bot.storage.invites import issue_code
from school_bot.storage.models import Account, AuditEntry, InviteCode, LaunchWaiter
from tests.support.core import chat, linked, school_and_core
from tests.support.small_school import NOW, PHONES


async def _account(db: Database, chat_id: str = "100", platform: str = "telegram") -> Account:
    """The chat's account (every chat that spoke to the bot has one)."""
    async with db.unit_of_work() as s:
        account = await s.scalar(select(Account).where(Account.chat_id == chat_id,
                                                       Account.platform == platform))
    assert account is not None, (platform, chat_id)
    return account


async def test_start_greets_in_the_users_language_and_asks_for_the_phone(db: Database) -> None:
    core = await school_and_core(db)
    uk, en = chat(db, core, "1"), chat(db, core, "2", language="en-US")
    await uk.send("/start")
    await en.send("/start")
    assert "Вітаю" in uk.last_text and uk.last_reply.request_contact
    assert uk.last_reply.contact_button_label == "Поділитися номером"
    assert "Hello" in en.last_text and en.last_reply.contact_button_label == "Share my phone number"


async def test_own_contact_of_a_consenting_parent_links_and_is_audited(db: Database) -> None:
    core = await school_and_core(db)
    parent = chat(db, core)
    await parent.share_contact("050 111 00 01")  # any common spelling
    assert "під'єднано" in parent.last_text and "Оцінки" in parent.menu
    account = await _account(db)
    assert list(account.guardian_ids) == ["g-koval"] and account.staff_id is None
    async with db.unit_of_work() as s:
        entry = await s.scalar(select(AuditEntry).where(AuditEntry.action == "account.linked"))
    assert entry is not None and entry.entity_id == str(account.id)
    assert PHONES.koval not in str(entry.details) and "1110001" not in str(entry.details)


async def test_unknown_number_no_consent_and_unlaunched_school_get_the_same_answer(db: Database) -> None:
    core = await school_and_core(db)
    answers = []
    for n, phone in enumerate((PHONES.unknown, PHONES.no_consent, PHONES.not_launched)):
        visitor = chat(db, core, f"visitor-{n}")
        await visitor.share_contact(phone)
        answers.append(visitor.replies)
        assert not (await _account(db, f"visitor-{n}")).linked
    assert answers[0] == answers[1] == answers[2]
    assert "адміністратора" in answers[0][0].text
    async with db.unit_of_work() as s:
        waiters = (await s.scalars(select(LaunchWaiter))).all()
    assert [w.school_id for w in waiters] == ["sch-2"]  # only the not-launched case waits


async def test_a_forwarded_contact_or_a_typed_number_is_refused_with_the_reason(db: Database) -> None:
    core = await school_and_core(db)
    parent = chat(db, core)
    await parent.share_contact(PHONES.koval, own=False)
    assert "кнопкою" in parent.last_text and parent.last_reply.request_contact
    await parent.send("+380 50 111 00 01")
    assert "кнопкою" in parent.last_text
    await parent.send("050 111 00 01")  # digits alone could be a code too: tried, then the same answer
    assert "кнопкою" in parent.last_text
    assert not (await _account(db)).linked


async def test_five_failures_within_an_hour_lock_the_chat(db: Database) -> None:
    core = await school_and_core(db)
    prober = chat(db, core)
    for _ in range(5):
        await prober.share_contact(PHONES.unknown)
    await prober.share_contact(PHONES.koval)
    assert "Забагато спроб" in prober.last_text
    assert not (await _account(db)).linked


async def test_a_deep_link_code_links_once_and_only_while_valid(db: Database) -> None:
    core = await school_and_core(db)
    async with db.unit_of_work() as s:
        code = await issue_code(s, "g-koval")
        expired = await issue_code(s, "g-bondar")
        await s.execute(update(InviteCode).where(InviteCode.guardian_id == "g-bondar")
                        .values(expires_at=NOW - timedelta(minutes=1)))
    first, second, third = chat(db, core, "1"), chat(db, core, "2"), chat(db, core, "3")
    await first.send(f"/start {code.replace('-', '')}")
    assert list((await _account(db, "1")).guardian_ids) == ["g-koval"]
    await second.send(code)  # reused
    await third.send(f"/start {expired}")
    for reply in (second, third):
        assert "код не діє" in reply.last_text
    await third.send("AAAA-BBBB-CC")  # made up
    assert "код не діє" in third.last_text
    assert (await _account(db, "3")).failed_link_attempts == 2


async def test_viber_needs_the_contact_and_the_guardians_own_code(db: Database) -> None:
    core = await school_and_core(db)
    async with db.unit_of_work() as s:
        mine, theirs = await issue_code(s, "g-koval"), await issue_code(s, "g-bondar")
    viber = chat(db, core, "v-1", platform=Platform.VIBER)
    await viber.share_contact(PHONES.koval, own=False)
    assert "код запрошення" in viber.last_text
    assert not (await _account(db, "v-1", "viber")).linked
    await viber.send(theirs)
    assert "код не діє" in viber.last_text
    async with db.unit_of_work() as s:
        locked = await s.scalar(select(InviteCode).where(InviteCode.guardian_id == "g-bondar"))
    assert locked is not None and locked.failed_attempts == 1
    await viber.send(mine)
    assert list((await _account(db, "v-1", "viber")).guardian_ids) == ["g-koval"]


async def test_viber_code_first_then_the_contact(db: Database) -> None:
    core = await school_and_core(db)
    async with db.unit_of_work() as s:
        code = await issue_code(s, "g-bondar")
    viber = chat(db, core, "v-2", platform=Platform.VIBER)
    await viber.started(code.replace("-", ""))
    assert viber.last_reply.request_contact
    await viber.started()  # "subscribed" does not forget the code
    await viber.share_contact(PHONES.bondar)
    assert list((await _account(db, "v-2", "viber")).guardian_ids) == ["g-bondar"]


async def test_a_teacher_who_is_also_a_parent_is_linked_as_both(db: Database) -> None:
    core = await school_and_core(db)
    both = await linked(db, core, PHONES.teacher_parent)
    account = await _account(db)
    assert (list(account.guardian_ids), account.staff_id) == (["g-moroz"], "t-moroz")
    await both.send("/grades")
    assert "Тарас" in both.last_text and "Фізкультура" in both.last_text


async def test_unlink_detaches_the_chat_and_is_audited(db: Database) -> None:
    core = await school_and_core(db)
    parent = await linked(db, core, PHONES.bondar)
    await parent.send("/unlink")
    assert "від'єднано" in parent.last_text and parent.last_reply.remove_menu
    assert not (await _account(db)).linked
    await parent.send("/grades")
    assert "Біологія" not in parent.last_text and parent.last_reply.request_contact
    async with db.unit_of_work() as s:
        actions = (await s.scalars(select(AuditEntry.action).order_by(AuditEntry.id))).all()
    assert actions == ["account.linked", "account.unlinked"]


async def test_a_linked_parents_words_are_not_taken_for_a_wrong_code(db: Database) -> None:
    core = await school_and_core(db)
    parent = chat(db, core)
    await parent.share_contact(PHONES.koval)
    await parent.send("Thanks")  # code-shaped letters, but a word
    assert "не зрозумів" in parent.last_text and "Оцінки" in parent.menu
    await parent.send("K7QF-9XBM-22")  # a code that is no code
    assert "код не діє" in parent.last_text and "Оцінки" in parent.menu
