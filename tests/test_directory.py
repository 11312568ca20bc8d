"""The class directory: off by default, only one's own class, names and never a phone.

Driven through the real conversation core (the production extensions), on SQLite and
PostgreSQL. Class 5-А of the small school, plus class 6-Б (same school) with the
parent Ткач Юлія, whom the parents of 5-А must never see or reach
(tests/support/directory.py).
"""

from __future__ import annotations

from sqlalchemy import func, select

from school_bot.storage.db import Database
from school_bot.storage.erasure import erase_person
from school_bot.storage.models import AuditEntry, Guardian, RelayMessage, School, Student
from tests.support.core import chat as chat_with
from tests.support.core import linked
from tests.support.directory import (
    CHAT,
    assert_no_secrets,
    directory_school,
    everything,
    parent,
    turn_off,
    turn_on,
)
from tests.support.small_school import PHONES
from tests.support.world import World, account, guardian, staff


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

    stranger = chat_with(db, core, "7730099")  # a chat that is not linked at all
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
    world = World(db)  # Мельник's school (7-Б) has not launched
    await world.change(Guardian, "g-melnyk", directory_opt_in=True)
    await world.add(account("7730005", guardians=["g-melnyk"], state={}))
    melnyk = chat_with(db, core, "7730005")
    await melnyk.send("/directory")
    assert melnyk.last_text == "До цього чату не прив’язано учнів, чия школа вже працює з ботом."
    await melnyk.press_payload("dir:c:st-maria")
    assert "Мельник" not in melnyk.last_text

    await world.change(School, "sch-1", launched=False)  # and 5-А's school: "not launched"
    await bondar.press_payload("dir:w:g-koval")
    assert bondar.last_text == "Цієї людини (вже) немає у вашому довіднику класу."
    await bondar.press_payload("dir:c")
    assert "Коваль" not in bondar.last_text


async def test_a_parent_with_children_in_two_classes_picks_the_class(db: Database) -> None:
    core = await directory_school(db)
    await World(db).change(Student, "st-petro", class_id="cls-6b")
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
    await World(db).add(staff("t-lys", "sch-1", "Лис Марта Іванівна", phone="+380501110011"))
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
    await World(db).add(
        guardian(long_id, "Лис Галина Петрівна", "+380501110012", directory_opt_in=True,
                 children=["st-sofia"]),
        account("7730009", platform="viber", guardians=[long_id], state={}))
    bondar = await parent(db, core, "bondar")
    await turn_on(bondar)
    await bondar.send("/directory")
    assert "Лис Галина (дитина: Софія)" in bondar.last_text
    [button] = [b for b in bondar.buttons if b.label == "✉️ Написати: Лис Галина"]
    assert len(button.payload.encode()) <= 64 and long_id not in button.payload
    await bondar.press(button.label)
    assert "Кому: Лис Галина (дитина: Софія)" in bondar.last_text
