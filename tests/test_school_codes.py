"""Invitation codes the school system issued, end to end.

A code in the school system's own format (8 lower-case letters and digits, with U and
L) comes in guardians.csv or staff.csv; it is redeemed on Viber after the contact
(typed in another case, with spaces and dashes, or in Cyrillic look-alikes), by
Viber's `context` deep link, and on Telegram by `/start <code>`. A code outside the
rule is rejected with its line (CSV) or index (API) and nothing unusable is stored.
Teachers link on Viber with a code from staff.csv or from `invites --staff` and get
their diary reminders there. On Viber, after the contact, a line that is no code gets
"this code does not work" and counts towards the lockout, never the welcome again.
Every test runs on SQLite and PostgreSQL, over the fake Viber and Telegram servers.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import func, select, update

from school_bot.bot.viber.client import ViberClient
from school_bot.bot.viber.delivery import ViberDeliverer
from school_bot.bot.viber.files import FileStore
from school_bot.notifications.dispatcher import Dispatcher
from school_bot.notifications.jobs.teachers import diary_reminders
from school_bot.storage.db import Database
from school_bot.storage.ingest import import_folder
from school_bot.storage.invites import find_usable, hash_code
from school_bot.storage.models import Account, InviteCode, utc_now
from tests.support.api import new_key, serve
from tests.support.notify import SCHOOL_DAY, Clock, config, job_context, kyiv, settings
from tests.support.telegram_rig import telegram_rig, texts
from tests.support.viber_rig import TOKEN, ViberRig, viber_rig

ROOT = Path(__file__).resolve().parents[1]
OLENA, IVAN, TARAS, IRYNA = "+380501234567", "+380931112233", "+380675554433", "+380675554434"
CODE = "ul7k2mq4"  # the school system's format: 8 characters, lower case, U and L
DAY = SCHOOL_DAY.isoformat()

FILES = {
    "schools.csv": "school_id,name,launched\nS1,Ліцей №1,yes\n",
    "classes.csv": "class_id,school_id,name,homeroom_teacher_id\nC1,S1,7-А,T1\n",
    "students.csv": "student_id,class_id,full_name\n"
                    "P1,C1,Бондар Марія Олегівна\nP2,C1,Гнатюк Петро Іванович\n",
    "guardians.csv": "guardian_id,student_id,full_name,phone,consent,invite_code\n"
                     f"G1,P1,Бондар Олег Петрович,050 123 45 67,yes,{CODE}\n"
                     "G2,P2,Гнатюк Іван Сергійович,093 111 22 33,yes,km4c-t7xp\n",
    "staff.csv": "staff_id,school_id,full_name,phone,role,consent,invite_code\n"
                 "T1,S1,Шевченко Тарас Григорович,067 555 44 33,teacher,yes,tl4u-8w2z\n"
                 "T2,S1,Коваль Ірина Петрівна,067 555 44 34,teacher,yes,\n",
    "lessons.csv": "lesson_id,class_id,subject,teacher_id,date,starts_at,ends_at,number,topic\n"
                   f"L1,C1,Математика,T1,{DAY},08:00,08:45,1,\n"
                   f"L2,C1,Фізика,T2,{DAY},09:00,09:45,2,\n",
    "grades.csv": "grade_id,student_id,subject,date,value\nGR1,P1,Математика,2026-11-20,11\n",
}

LINKED = "під'єднано"
REFUSED = "код не діє"
WELCOME = "Вітаю"
TOO_MANY = "Забагато спроб"


async def load_school(db: Database, folder: Path, **changed: str) -> list[str]:
    """Write the school system's files (some replaced) and import them: the problems."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in {**FILES, **changed}.items():
        (folder / name).write_text(text, encoding="utf-8")
    return (await import_folder(db, folder, actor="test")).problems()


async def account_of(db: Database, chat_id: str, platform: str = "viber") -> Account:
    """The chat's account (every chat that spoke to the bot has one)."""
    async with db.unit_of_work() as s:
        account = await s.scalar(select(Account).where(Account.platform == platform,
                                                       Account.chat_id == chat_id))
    assert account is not None, (platform, chat_id)
    return account


async def link_on_viber(rig: ViberRig, user: str, phone: str, code: str) -> list[str]:
    await rig.share_phone(user, phone)
    return await rig.say(user, code)


# ---------------------------------------------------------------- parents


async def test_a_school_code_typed_after_the_contact_in_any_spelling_links_on_viber(
        db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path) == []
    async with viber_rig(db) as rig:
        olena = await link_on_viber(rig, "viber-olena", OLENA, "UL7K 2MQ4")  # other case, a space
        ivan = await link_on_viber(rig, "viber-ivan", IVAN, "км4с–т7хр")  # Cyrillic look-alikes, a dash
        grades = "\n".join(await rig.say("viber-olena", "Оцінки"))
    assert LINKED in olena[-1] and LINKED in ivan[-1]
    assert list((await account_of(db, "viber-olena")).guardian_ids) == ["G1"]
    assert list((await account_of(db, "viber-ivan")).guardian_ids) == ["G2"]
    assert "11" in grades and "Математика" in grades


async def test_a_school_code_in_a_viber_deep_link_links_after_the_contact(
        db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path) == []
    async with viber_rig(db) as rig:
        await rig.callback(rig.api.conversation_started("viber-olena", context=CODE))
        await rig.callback(rig.api.subscribed("viber-olena"))
        replies = await rig.share_phone("viber-olena", OLENA)
    assert LINKED in replies[-1]
    assert list((await account_of(db, "viber-olena")).guardian_ids) == ["G1"]


async def test_a_school_code_in_a_telegram_start_link_links(db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path) == []
    async with telegram_rig(db) as rig:
        answer = texts(await rig.chat(501).send(f"/start {CODE}"))
        again = texts(await rig.chat(502).send(f"/start {CODE.upper()}"))  # one time only
    assert LINKED in answer[-1] and REFUSED in again[-1]
    assert list((await account_of(db, "501", "telegram")).guardian_ids) == ["G1"]
    assert not (await account_of(db, "502", "telegram")).linked


# ---------------------------------------------------------------- the rule at the door


BAD_GUARDIANS = (
    "guardian_id,student_id,full_name,phone,consent,invite_code\n"
    f"G1,P1,Бондар Олег Петрович,050 123 45 67,yes,{CODE}\n"          # 2 good
    "G2,P2,Гнатюк Іван Сергійович,093 111 22 33,yes,ab-12\n"          # 3 too short
    "G3,P2,Гнатюк Ольга Петрівна,093 111 22 44,yes,код-12345\n"       # 4 not Latin
    "G4,P2,Гнатюк Анна Іванівна,093 111 22 55,yes,UL7K-2MQ4\n"        # 5 G1's code
    f"G5,P2,Гнатюк Ігор Іванович,093 111 22 66,yes,{'x' * 33}\n"      # 6 too long
    "G6,P2,Гнатюк Павло Іванович,093 111 22 77,no,ab-12\n"            # 7 no consent: not read
    "G7,P2,Гнатюк Марко Іванович,093 111 22 88,yes,zz 99 xx 11\n"     # 8 good, spaced
)


async def test_a_code_outside_the_rule_is_rejected_with_its_line_or_index_and_not_stored(
        db: Database, tmp_path: Path) -> None:
    problems = await load_school(db, tmp_path, **{"guardians.csv": BAD_GUARDIANS})
    assert problems == [
        "guardians.csv:3: invite_code: has 4 letters and digits; a code needs 6 to 32",
        "guardians.csv:4: invite_code: may hold only Latin letters, digits, spaces and dashes",
        ("guardians.csv:5: invite_code: the same code (ignoring case, spaces, dashes and "
         "look-alike letters) belongs to another person"),
        "guardians.csv:6: invite_code: has 33 letters and digits; a code needs 6 to 32",
    ]
    key = await new_key(db, "S1")
    records = [
        {"guardian_id": "G8", "student_id": "P1", "full_name": "Бондар Ніна Олегівна",
         "phone": "050 123 45 99", "consent": True, "invite_code": "ul7k2mq!"},
        {"guardian_id": "G9", "student_id": "P1", "full_name": "Бондар Ілля Олегович",
         "phone": "050 123 45 98", "consent": True, "invite_code": 20250912},
        {"guardian_id": "G10", "student_id": "P1", "full_name": "Бондар Іра Олегівна",
         "phone": "050 123 45 97", "consent": True, "invite_code": "tl4u8w2z"},  # T1's
    ]
    async with serve(db) as server:
        answer = await server.post("guardians", records, key=key)
    assert answer.status == 200, answer.body
    assert answer.body["created"] == 1
    assert answer.body["rejected"] == [
        {"index": 0, "reason": "invite_code: may hold only Latin letters, digits, spaces and dashes"},
        {"index": 2, "reason": "invite_code: the same code (ignoring case, spaces, dashes and "
                               "look-alike letters) belongs to another person"},
    ]
    async with db.unit_of_work() as s:
        stored = set((await s.scalars(select(InviteCode.code_hash))).all())
        accepted = [CODE, "zz99xx11", "20250912", "tl4u-8w2z"]
        assert stored == {hash_code(code) for code in accepted}  # nothing else, nothing unusable
        for code in accepted:
            assert await find_usable(s, code) is not None, code


async def test_reloading_keeps_a_code_a_new_one_replaces_it(db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path / "a") == []
    report = await import_folder(db, tmp_path / "a", actor="test")  # the nightly re-sync
    by_file = {r.file: r.result for r in report.files}
    assert by_file["guardians.csv"].unchanged == 2 and by_file["staff.csv"].unchanged == 2
    changed = FILES["guardians.csv"].replace(CODE, "NEW-C0DE-42")
    assert await load_school(db, tmp_path / "b", **{"guardians.csv": changed}) == []
    async with db.unit_of_work() as s:
        assert await find_usable(s, CODE) is None
        new = await find_usable(s, "newc0de42")
        assert new is not None and new.guardian_id == "G1"
        await s.execute(update(InviteCode).where(InviteCode.staff_id == "T1")
                        .values(expires_at=utc_now() - timedelta(days=1)))
    report = await import_folder(db, tmp_path / "a", actor="test")  # the first code again
    by_file = {r.file: r.result for r in report.files}
    assert by_file["guardians.csv"].updated == 1 and by_file["staff.csv"].updated == 1
    async with db.unit_of_work() as s:  # what the school system sent is what works
        guardians, teachers = await find_usable(s, CODE), await find_usable(s, "tl4u8w2z")
        assert guardians is not None and guardians.guardian_id == "G1"
        assert teachers is not None and teachers.staff_id == "T1"
        assert await find_usable(s, "newc0de42") is None
        assert await s.scalar(select(func.count()).select_from(InviteCode)) == 4


# ---------------------------------------------------------------- staff


def invites_for_staff(db_url: str, out: Path) -> dict[str, str]:
    """`run_bot.py invites --school S1 --staff`: the staff sheet's codes by name."""
    env = {**os.environ, "DATABASE_URL": db_url, "VIBER_CHAT_URI": "schoolbot"}
    done = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "invites", "--school", "S1",
                           "--staff", "--out", str(out)], capture_output=True, text=True,
                          env=env, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "1 codes issued" in done.stdout  # T1 has the school system's code already
    with (out / "invites-staff.csv").open(encoding="utf-8-sig") as handle:
        return {row["Працівник школи"]: row["Код"] for row in csv.DictReader(handle)}


async def deliver_outbox(db: Database, rig: ViberRig, clock: Clock) -> None:
    async with aiohttp.ClientSession() as http:
        client = ViberClient(http, api_url=rig.api.base_url, auth_token=TOKEN, bot_name="Бот")
        dispatcher = Dispatcher(db, settings(), {"viber": ViberDeliverer(client, FileStore(None))},
                                config(), clock)
        await dispatcher.run(until_idle=True)


async def test_teachers_link_on_viber_with_staff_codes_and_get_diary_reminders_there(
        db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path / "data") == []
    sheet = invites_for_staff(db.url, tmp_path / "sheets")
    iryna_code = sheet["Коваль Ірина Петрівна"]
    clock = Clock(kyiv(SCHOOL_DAY, 12))
    async with viber_rig(db) as rig:
        taras = await link_on_viber(rig, "viber-taras", TARAS, "TL4U 8W2Z")
        iryna = await link_on_viber(rig, "viber-iryna", IRYNA, iryna_code.lower())
        assert await diary_reminders(job_context(db, clock)) == 2
        await deliver_outbox(db, rig, clock)
        to_taras = rig.api.messages_to("viber-taras")
        to_iryna = rig.api.messages_to("viber-iryna")
    assert LINKED in taras[-1] and LINKED in iryna[-1]
    assert (await account_of(db, "viber-taras")).staff_id == "T1"
    assert (await account_of(db, "viber-iryna")).staff_id == "T2"
    assert "Математика" in to_taras[-1] and "7-А" in to_taras[-1]
    assert "Фізика" in to_iryna[-1] and "Математика" not in to_iryna[-1]


async def test_a_staff_code_needs_the_staff_members_own_number_on_viber(
        db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path) == []
    async with viber_rig(db) as rig:
        stranger = await link_on_viber(rig, "viber-x", OLENA, "tl4u-8w2z")  # Olena's number
        teacher = await link_on_viber(rig, "viber-taras", TARAS, "tl4u-8w2z")
    assert REFUSED in stranger[-1] and LINKED in teacher[-1]
    assert (await account_of(db, "viber-x")).staff_id is None


# ---------------------------------------------------------------- after the contact


async def test_after_the_contact_every_line_is_a_code_attempt_never_the_welcome(
        db: Database, tmp_path: Path) -> None:
    assert await load_school(db, tmp_path) == []
    lines = ["Привіт", "hello", "що далі?", "050 123 45 67", "ul7k-2mq5"]  # five wrong tries
    async with viber_rig(db) as rig:
        await rig.share_phone("viber-olena", OLENA)
        answers = [await rig.say("viber-olena", line) for line in lines]
        locked = await rig.say("viber-olena", CODE)  # even the right code waits now
    assert all(len(answer) == 1 and REFUSED in answer[0] for answer in answers), answers
    assert TOO_MANY in locked[0]
    assert not any(WELCOME in text for answer in [*answers, locked] for text in answer)
    account = await account_of(db, "viber-olena")
    assert not account.linked and account.failed_link_attempts == 5
