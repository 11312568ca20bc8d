"""The class directory: off by default, only one's own class, names and never a phone.

Driven through the real conversation core (the production extensions), on SQLite and
PostgreSQL. Class 5-А of the factory's school, plus class 6-Б (same school) with the
parent Ткач Юлія, whom the parents of 5-А must never see or reach.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.models import (
    Account,
    AuditEntry,
    Guardian,
    GuardianStudent,
    RelayMessage,
    School,
    SchoolClass,
    Staff,
    Student,
)
from tests.chat_client import ChatClient
from tests.core_support import chat, linked, school_and_core
from tests.school_factory import PHONES

OTHER_PHONE = "+380501110010"
CHAT = {"koval": "7730001", "bondar": "7730002", "other": "7730003", "teacher": "7730004"}
SECRETS = [*(p for p in vars(PHONES).values()), OTHER_PHONE, *CHAT.values()]
SECRETS += [phone[3:] for phone in SECRETS if phone.startswith("+380")]  # 0501110001


async def directory_school(db: Database):  # type: ignore[no-untyped-def]
    """The factory's school, a second class 6-Б, and t-moroz as 5-А's homeroom teacher."""
    core = await school_and_core(db)
    async with db.unit_of_work() as s:
        s.add(SchoolClass(id="cls-6b", school_id="sch-1", name="6-Б"))
        s.add(Guardian(id="g-other", full_name="Ткач Юлія Миколаївна", phone=OTHER_PHONE, consent=True))
        await s.flush()
        s.add(Student(id="st-other", class_id="cls-6b", full_name="Ткач Денис Олегович"))
        await s.flush()
        s.add(GuardianStudent(guardian_id="g-other", student_id="st-other"))
        await s.execute(update(SchoolClass).where(SchoolClass.id == "cls-5a")
                        .values(homeroom_teacher_id="t-moroz"))
    return core


async def parent(db: Database, core, who: str) -> ChatClient:  # type: ignore[no-untyped-def]
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


async def audit_actions(db: Database, entity_id: str) -> list[str]:
    async with db.unit_of_work() as s:
        return list(await s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == entity_id)
                                    .order_by(AuditEntry.id)))


async def test_the_directory_is_off_by_default_and_a_hidden_parent_sees_and_is_seen_by_no_one(
        db: Database) -> None:
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    async with db.unit_of_work() as s:
        assert not await s.scalar(select(func.count()).select_from(Guardian)
                                  .where(Guardian.directory_opt_in.is_(True)))
    assert "👥 Мій клас" in bondar.menu
    await bondar.press("👥 Мій клас")
    assert "Довідник класу у вас вимкнено." in bondar.last_text
    assert "Номери телефонів і акаунти в месенджерах не показуються нікому" in bondar.last_text
    assert "Бондар Іван" not in bondar.last_text and "Коваль" not in bondar.last_text
    assert [b.label for b in bondar.buttons] == ["Увімкнути довідник класу"]

    await turn_on(koval)  # koval is visible; bondar still is not
    await koval.send("/directory")
    assert "👥 Клас 5-А, Гімназія №1" in koval.last_text
    assert "5 учнів:" in koval.last_text and "Бондар Іван" in koval.last_text
    assert "Бондар Ірина" not in koval.last_text
    assert "Ніхто інший із батьків цього класу ще не увімкнув довідник." in koval.last_text
    assert not any(b.label.startswith("✉️") for b in koval.buttons)


async def test_two_visible_parents_of_a_class_see_each_other_by_name_and_never_a_phone(
        db: Database) -> None:
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    await turn_on(koval)
    await bondar.send("/directory")
    await bondar.press("Увімкнути довідник класу")  # the one-tap way from the directory itself
    await bondar.send("/directory")
    assert "Батьки, які увімкнули довідник:" in bondar.last_text
    assert "Коваль Олена (діти: Ольга, Петро)" in bondar.last_text
    assert "Василівна" not in bondar.last_text  # no patronymics either
    assert [b.label for b in bondar.buttons] == ["✉️ Написати: Коваль Олена"]
    assert_no_secrets(everything(bondar))

    await koval.press("👥 Мій клас")
    assert "Бондар Ірина (дитина: Іван)" in koval.last_text
    assert "Шевчук" not in koval.last_text  # Іван's second guardian: no consent, never listed
    assert_no_secrets(everything(koval))
    assert await audit_actions(db, "g-koval") == ["directory.opt_in"]
    assert await audit_actions(db, "g-bondar") == ["directory.opt_in"]


async def test_english_speakers_read_the_directory_in_english(db: Database) -> None:
    core = await directory_school(db)
    koval = await parent(db, core, "koval")
    bondar = await linked(db, core, PHONES.bondar, CHAT["bondar"], language="en")
    await turn_on(koval)
    await bondar.send("/settings")
    await bondar.press("👥 Class directory")
    await bondar.press("Visible to my class: off")
    await bondar.press("Open the class directory")
    assert "5 pupils:" in bondar.last_text
    assert "Коваль Олена, parent of Ольга, Петро" in bondar.last_text
    assert [b.label for b in bondar.buttons] == ["✉️ Write to Коваль Олена"]


async def test_a_parent_of_another_class_is_never_listed_and_a_forged_button_reaches_no_one(
        db: Database) -> None:
    core = await directory_school(db)
    koval, other = await parent(db, core, "koval"), await parent(db, core, "other")
    await turn_on(koval)
    await turn_on(other)
    await koval.send("/directory")
    assert "Ткач" not in koval.last_text
    await other.send("/directory")
    assert "👥 Клас 6-Б" in other.last_text and "Коваль" not in other.last_text

    for forged in ("dir:w:g-other", "dir:w:g-melnyk", "dir:w:g-koval"):
        await koval.press_payload(forged)
        assert koval.last_text == "Цієї людини (вже) немає у вашому довіднику класу."
    await koval.press_payload("dir:c:st-other")  # a pupil of another family
    assert "недоступна" in koval.last_text and "Ткач" not in koval.last_text
    await koval.send("Привіт!")  # no half-written message was started by the forged buttons
    assert "Привіт!" not in koval.last_text
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(RelayMessage)) == 0

    bondar = await parent(db, core, "bondar")  # hidden herself: told only to turn it on,
    for target in ("g-koval", "g-other", "g-nobody"):  # whoever the forged button names
        await bondar.press_payload(f"dir:w:{target}")
        assert bondar.last_text.startswith("Спершу увімкніть довідник класу")

    stranger = chat(db, core, "7730099")  # a chat that is not linked at all
    await stranger.press_payload("dir:w:g-koval")
    assert "Коваль" not in stranger.last_text


async def test_turning_the_directory_off_removes_the_parent_from_every_list_at_once(
        db: Database) -> None:
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    await turn_on(koval)
    await turn_on(bondar)
    await bondar.send("/directory")
    write_to_koval = next(b.payload for b in bondar.buttons if "Коваль Олена" in b.label)

    await turn_off(koval)
    await bondar.send("/directory")
    assert "Коваль Олена" not in bondar.last_text
    assert "Коваль Ольга" in bondar.last_text  # the class's pupils are still the class's pupils
    await bondar.press_payload(write_to_koval)  # yesterday's button
    assert bondar.last_text == "Цієї людини (вже) немає у вашому довіднику класу."
    await koval.send("/directory")
    assert "Довідник класу у вас вимкнено." in koval.last_text and "Бондар" not in koval.last_text
    assert await audit_actions(db, "g-koval") == ["directory.opt_in", "directory.opt_out"]


async def test_an_unlaunched_school_gives_no_directory_and_no_messages(db: Database) -> None:
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    await turn_on(koval)
    await turn_on(bondar)
    async with db.unit_of_work() as s:  # Мельник's school (7-Б) has not launched
        await s.execute(update(Guardian).where(Guardian.id == "g-melnyk").values(directory_opt_in=True))
        s.add(Account(platform="telegram", chat_id="7730005", guardian_ids=["g-melnyk"], state={}))
    melnyk = chat(db, core, "7730005")
    await melnyk.send("/directory")
    assert melnyk.last_text == "До цього чату не прив’язано учнів, чия школа вже працює з ботом."
    await melnyk.press_payload("dir:c:st-maria")
    assert "Мельник" not in melnyk.last_text

    async with db.unit_of_work() as s:  # and 5-А's school is taken back to "not launched"
        await s.execute(update(School).where(School.id == "sch-1").values(launched=False))
    await bondar.press_payload("dir:w:g-koval")
    assert bondar.last_text == "Цієї людини (вже) немає у вашому довіднику класу."
    await bondar.press_payload("dir:c")
    assert "Коваль" not in bondar.last_text


async def test_a_parent_with_children_in_two_classes_picks_the_class(db: Database) -> None:
    core = await directory_school(db)
    async with db.unit_of_work() as s:
        await s.execute(update(Student).where(Student.id == "st-petro").values(class_id="cls-6b"))
    koval, other = await parent(db, core, "koval"), await parent(db, core, "other")
    await turn_on(koval)
    await turn_on(other)
    await koval.send("/directory")
    assert koval.last_text == "Клас якої дитини? Оберіть:"
    await koval.press("Петро (6-Б)")
    assert "👥 Клас 6-Б" in koval.last_text and "Ткач Юлія (дитина: Денис)" in koval.last_text
    await koval.press("Ольга (5-А)")
    assert "👥 Клас 5-А" in koval.last_text and "Ткач" not in koval.last_text
    await other.send("/directory")
    assert "Коваль Олена (дитина: Петро)" in other.last_text  # only her child in this class


async def test_the_directory_is_for_parents_only(db: Database) -> None:
    core = await directory_school(db)
    async with db.unit_of_work() as s:
        s.add(Staff(id="t-lys", school_id="sch-1", full_name="Лис Марта Іванівна",
                    phone="+380501110011", role="teacher", consent=True))
    teacher = await linked(db, core, "+380501110011", "7730006")
    assert "👥 Мій клас" not in teacher.menu
    await teacher.send("/directory")
    assert teacher.last_text == "Довідник класу — для батьків, чий чат під’єднано до бота."
    await teacher.press_payload("dir:o:1")
    assert "для батьків" in teacher.last_text


async def test_erasing_a_parent_takes_them_off_every_list_and_deletes_their_messages(
        db: Database) -> None:
    core = await directory_school(db)
    koval, bondar = await parent(db, core, "koval"), await parent(db, core, "bondar")
    await turn_on(koval)
    await turn_on(bondar)
    await bondar.press_payload("dir:w:g-koval")
    await bondar.send("Добрий день! Завтра екскурсія.")
    await bondar.press("✅ Надіслати")
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(RelayMessage)) == 1
        await erase_person(s, "guardian", "g-bondar", actor="test", reason="consent withdrawn")
    await koval.send("/directory")
    assert "Бондар Ірина" not in koval.last_text
    async with db.unit_of_work() as s:
        assert await s.scalar(select(func.count()).select_from(RelayMessage)) == 0
    await koval.press_payload("dir:w:g-bondar")
    assert koval.last_text == "Цієї людини (вже) немає у вашому довіднику класу."


async def test_a_parent_with_a_long_id_is_named_by_a_short_hash_in_buttons(db: Database) -> None:
    core = await directory_school(db)
    long_id = "g-" + "ч" * 30  # 62 bytes: too long for a 64-byte payload with its prefix
    async with db.unit_of_work() as s:
        s.add(Guardian(id=long_id, full_name="Лис Галина Петрівна", phone="+380501110012",
                       consent=True, directory_opt_in=True))
        await s.flush()
        s.add(GuardianStudent(guardian_id=long_id, student_id="st-sofia"))
        s.add(Account(platform="viber", chat_id="7730009", guardian_ids=[long_id], state={}))
    bondar = await parent(db, core, "bondar")
    await turn_on(bondar)
    await bondar.send("/directory")
    assert "Лис Галина (дитина: Софія)" in bondar.last_text
    [button] = [b for b in bondar.buttons if b.label == "✉️ Написати: Лис Галина"]
    assert len(button.payload.encode()) <= 64 and long_id not in button.payload
    await bondar.press(button.label)
    assert "Кому: Лис Галина (дитина: Софія)" in bondar.last_text
