"""`/report` in the chat: a director gets their school's report, the department the city's;
nobody else gets one, and the right is checked again on every press."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import func, select, update

from school_bot.handlers.conversation import Conversation
from school_bot.handlers.reports_view import ReportsExtension
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database
from school_bot.storage.models import AuditEntry, Staff
from tests.support.chat_client import ChatClient
from tests.support.city import clock
from tests.support.world import World, account, staff

PNG = b"\x89PNG\r\n\x1a\n"


async def add_staff_chats(database: Database) -> None:
    """The city's director of school A and the education department, each with a chat."""
    await World(database).add(
        staff("d1", "sa", "Директорка Школи А", role="director"),
        staff("dep", "sa", "Управління Освіти", role="department"),
        account("301", staff_id="d1", language="uk"),
        account("302", staff_id="dep", language="en"))


async def chats(database: Database) -> dict[str, ChatClient]:
    await add_staff_chats(database)
    settings = Settings(_env_file=None, database_url=database.url)
    core = Conversation(settings, clock=clock, extensions=[ReportsExtension()])
    return {name: ChatClient(database, core, chat_id=chat_id, language=None)
            for name, chat_id in (("director", "301"), ("department", "302"), ("teacher", "201"),
                                  ("parent", "101"))}


async def audit_count(database: Database) -> int:
    async with database.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)
                                        .where(AuditEntry.action == "report.generated")) or 0)


def sheet_rows(reply_file_content: bytes) -> list[list[object]]:
    sheet = load_workbook(io.BytesIO(reply_file_content)).worksheets[0]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


async def test_a_director_picks_a_report_and_a_period_and_gets_their_school(city: Database) -> None:
    director = (await chats(city))["director"]
    await director.send("/report")
    assert [b.label for b in director.buttons] == ["👪 Підключення батьків", "📒 Заповнення журналу",
                                                   "🚸 Пропуски", "📨 Доставка сповіщень"]
    await director.press("📒 Заповнення журналу")
    assert director.last_text == "📅 За який період?"
    await director.press("Останні 7 днів")
    sheet, chart = director.replies
    assert sheet.text == "📊 Заповнення журналу вчителями\nШкола А, 08.03.2025–14.03.2025"
    assert sheet.file is not None and sheet.file.filename == "diary-sa-2025-03-08_2025-03-14.xlsx"
    rows = sheet_rows(sheet.file.content)
    assert rows[0][:3] == ["Школа", "Вчитель", "Проведено уроків"]
    assert rows[1:] == [["Школа А", "#t9", 1, 1, 1, 100, 0],
                        ["Школа А", "Коваль Ірина Петрівна", 4, 3, 2, 50, 2],
                        ["Школа А", "Мельник Олег Іванович", 1, 0, 1, 0, 0]]
    assert chart.file is not None and chart.file.content.startswith(PNG)
    async with city.unit_of_work() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "report.generated"))
    assert entry is not None and entry.actor == "staff:d1" and entry.school_id == "sa"
    assert entry.details["format"] == "xlsx+png" and entry.details["scope"] == "school:sa"


async def test_the_department_gets_every_school_in_its_language(city: Database) -> None:
    department = (await chats(city))["department"]
    await department.send("/report")
    await department.press("👪 Parents linked")  # a snapshot: no period to pick
    sheet = department.replies[0]
    assert sheet.text.startswith("📊 Parents linked to the bot\nall schools, as of 14.03.2025")
    assert sheet.file is not None
    schools = {row[0] for row in sheet_rows(sheet.file.content)[1:]}
    assert schools == {"Школа А", "Школа Б"}


async def test_teachers_and_parents_get_no_report(city: Database) -> None:
    clients = await chats(city)
    for name in ("teacher", "parent"):
        await clients[name].send("/report")
        assert "директорам шкіл і управлінню освіти" in clients[name].last_text
        await clients[name].press_payload("rp:coverage")  # a button they were never given
        assert clients[name].replies[0].file is None
        assert "директорам шкіл" in clients[name].last_text
    assert await audit_count(city) == 0


async def test_the_right_is_checked_again_when_the_button_is_pressed(city: Database) -> None:
    director = (await chats(city))["director"]
    await director.send("/report")
    async with city.unit_of_work() as session:
        await session.execute(update(Staff).where(Staff.id == "d1").values(role="teacher"))
    await director.press("👪 Підключення батьків")
    assert director.replies[0].file is None and "директорам шкіл" in director.last_text
    assert await audit_count(city) == 0


async def test_a_forged_payload_is_answered_without_a_report(city: Database) -> None:
    director = (await chats(city))["director"]
    for payload in ("rp:diary:3650", "rp:grades", "rp:", "rp:coverage:x:y"):
        await director.press_payload(payload)
        assert director.replies[0].file is None and "/report" in director.last_text
    assert await audit_count(city) == 0
