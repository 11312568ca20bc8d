"""Report files as an office opens them: CSV for Excel, XLSX, and a PNG chart."""

from __future__ import annotations

import io
import struct
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from school_bot.reports.charts import chart_for
from school_bot.reports.queries import COLUMNS
from school_bot.reports.render import render
from school_bot.reports.spec import ReportRequest, ReportTable

KYIV = ZoneInfo("Europe/Kyiv")
NOW = datetime(2025, 3, 14, 12, 0, tzinfo=KYIV)
LONG_NAME = "Загальноосвітня школа І-ІІІ ступенів №19 імені Тараса Шевченка"

ROWS: dict[str, list[tuple[Any, ...]]] = {
    "coverage": [("Школа А", "5-А", 4, 3, 2, 1, 2), ("Школа А", "10-А", 1, 1, 0, 0, 1),
                 (LONG_NAME, "7-Б", 2, 2, 2, 0, 0)],
    "diary": [("Школа А", "Коваль Ірина Петрівна", 4, 3, 2, 50.0, 2),
              ("Школа А", "Мельник Олег Іванович", 1, 0, 1, 0.0, 0),
              (LONG_NAME, "Бойко Анна Сергіївна", 3, 3, 3, 100.0, 0)],
    "absences": [("Школа А", "5-А", "2025-W10", date(2025, 3, 3), 1, 0, 1, 1, 0.0, 0.0, 0.0, None),
                 ("Школа А", "5-А", "2025-W11", date(2025, 3, 10), 2, 1, 1, 3, 100.0, 66.7, 33.3, 3.0),
                 ("Школа А", "10-А", "2025-W11", date(2025, 3, 10), 0, 1, 0, 0, None, None, None, None)],
    "delivery": [("absence", 5, 0, 4, 2, 1, 1, 0, 1, 0), ("grades", 4, 2, 0, 0, 0, 0, 1, 0, 1),
                 ("something_new", 1, 1, 0, 0, 0, 0, 0, 0, 0)],
}


def table(report: str, school: str | None = None,
          rows: list[tuple[Any, ...]] | None = None) -> ReportTable:
    request = ReportRequest(report, school, date(2025, 3, 1), date(2025, 3, 14), NOW, KYIV)
    return ReportTable(request, COLUMNS[report], ROWS[report] if rows is None else rows,
                       "Школа А" if school else None)


def test_csv_has_a_bom_a_header_in_the_readers_language_and_the_rows() -> None:
    content = render(table("absences"), "csv", "uk")
    assert content.startswith(b"\xef\xbb\xbf")
    lines = content.decode("utf-8-sig").splitlines()
    assert lines[0] == ("Школа,Клас,Тиждень,Початок тижня,Без поважної причини,З поважної причини,"
                        'Запізнення,Днів відсутності,"Пояснено, %","Прийнято, %","Відхилено, %",'
                        "Медіана годин до рішення")
    assert lines[1] == "Школа А,5-А,2025-W10,2025-03-03,1,0,1,1,0.0,0.0,0.0,"
    assert lines[2] == "Школа А,5-А,2025-W11,2025-03-10,2,1,1,3,100.0,66.7,33.3,3.0"
    assert len(lines) == 4
    english = render(table("diary"), "csv", "en").decode("utf-8-sig").splitlines()
    assert english[0] == ('School,Teacher,Lessons taught,With attendance,With topic,"Fill rate, %",'
                          "Reminders sent")
    assert english[1] == "Школа А,Коваль Ірина Петрівна,4,3,2,50.0,2"


def test_csv_names_the_kinds_of_notification_in_words() -> None:
    lines = render(table("delivery"), "csv", "uk").decode("utf-8-sig").splitlines()
    assert lines[1].startswith("Пропуск уроку,5,0,4,2,1,1,0,1,0")
    assert lines[2].startswith("Нові оцінки,")
    assert lines[3].startswith("something_new,")  # a kind without a label stays readable


def test_xlsx_has_a_bold_frozen_header_fitted_widths_and_real_numbers() -> None:
    book = load_workbook(io.BytesIO(render(table("diary"), "xlsx", "uk")))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]][:3] == ["Школа", "Вчитель", "Проведено уроків"]
    assert all(c.font.bold for c in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet.column_dimensions["A"].width >= len(LONG_NAME)  # the longest school name fits
    assert sheet.column_dimensions["C"].width >= len("Проведено уроків")
    assert sheet.column_dimensions["C"].width < sheet.column_dimensions["A"].width
    assert sheet["C2"].value == 4 and isinstance(sheet["C2"].value, int)
    assert sheet["F2"].value == 50.0 and sheet["F2"].number_format == "0.0"
    assert sheet.max_row == 4
    assert "Школа А" not in book.worksheets[1]["A2"].value  # the city-wide scope
    assert book.worksheets[1]["A2"].value == "усі школи, 01.03.2025–14.03.2025"


def test_xlsx_keeps_dates_as_dates() -> None:
    sheet = load_workbook(io.BytesIO(render(table("absences", "sa"), "xlsx", "en"))).worksheets[0]
    # an Excel cell holds no time zone: openpyxl reads a date back as a naive midnight
    assert sheet["D2"].value == datetime(2025, 3, 3)  # noqa: DTZ001
    assert sheet["D2"].number_format == "yyyy-mm-dd"
    assert sheet["L3"].value == 3.0 and sheet["L3"].number_format == "0.0"  # median hours


def png_size(content: bytes) -> tuple[int, int]:
    assert content[:8] == b"\x89PNG\r\n\x1a\n"
    assert content[12:16] == b"IHDR"
    return struct.unpack(">II", content[16:24])


@pytest.mark.parametrize("report", ["coverage", "diary", "absences", "delivery"])
@pytest.mark.parametrize("school", [None, "sa"])
def test_png_is_a_chart_of_a_readable_size(report: str, school: str | None) -> None:
    content = render(table(report, school), "png", "uk")
    width, height = png_size(content)
    assert 600 <= width <= 3000 and 250 <= height <= 4000
    assert len(content) > 10_000  # bars, labels and a title, not an empty canvas


def test_png_of_an_empty_period_still_renders() -> None:
    width, height = png_size(render(table("absences", rows=[]), "png", "en"))
    assert width >= 600 and height >= 250


def test_png_grows_with_the_number_of_bars() -> None:
    few = png_size(render(table("diary", "sa"), "png", "uk"))[1]
    rows = [("Школа А", f"Вчитель {n}", 10, 9, 8, 80.0, 1) for n in range(40)]
    many = png_size(render(table("diary", "sa", rows), "png", "uk"))[1]
    assert many > 2 * few


def test_charts_sum_classes_into_schools_for_the_city() -> None:
    chart = chart_for(table("coverage"), "uk")
    assert chart.categories == ["Школа А", LONG_NAME]
    assert chart.series == [("Linked", [2.0, 2.0]), ("Not linked", [3.0, 0.0])]
    one_school = chart_for(table("coverage", "sa", ROWS["coverage"][:2]), "uk")
    assert one_school.categories == ["5-А", "10-А"]


def test_the_city_diary_chart_weighs_teachers_by_lessons() -> None:
    chart = chart_for(table("diary"), "uk")
    # Школа А: (2 + 0) of (4 + 1) lessons complete = 40 %, not the mean of 50 % and 0 %
    assert chart.series == [("Fill rate, %", [40.0, 100.0])]


def test_the_delivery_chart_stacks_to_the_total() -> None:
    chart = chart_for(table("delivery"), "uk")
    for i, row in enumerate(ROWS["delivery"]):
        assert sum(values[i] for _, values in chart.series) == row[1]
