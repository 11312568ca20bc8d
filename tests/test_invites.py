"""What a code is (the one rule), and `invites`: codes for consenting guardians (or staff)
only, sheets to print, re-issue invalidates."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.invites import (
    CODE_PATTERN,
    code_problem,
    find_usable,
    hash_code,
    looks_like_code,
    new_code,
    normalize_code,
)
from school_bot.storage.models import AuditEntry, InviteCode
from tests.support.small_school import small_school

ROOT = Path(__file__).resolve().parents[1]


SPELLINGS = [  # (as typed, the same code as)
    ("ul7k2mq4", "UL7K2MQ4"), ("UL7K 2MQ4", "ul7k-2mq4"), ("u-l-7-k-2-m-q-4", "ul7k2mq4"),
    ("ul7k\u00a02mq4", "ul7k2mq4"), ("ul7k\u20132mq4", "ul7k2mq4"),     # a no-break space, an en dash
    ("K7QF-9XBM-2D", "k7qf9xbm2d"), ("K7QF-9XBM-2D", "К7QF-9ХВМ-2D"),    # Cyrillic К Х В М
    ("abcoil", "ABC011"), ("КОНТАКТ", "kohtakt"), ("сокі12", "COKI12"),
]
NOT_CODES = ["", "abc12", "x" * 33, "Привіт", "straße12", "+380501234567", "ab_cd_ef", "ab.cd.ef",
             "ul7k2mq4!", "уу12345"]  # Cyrillic У is no look-alike of Y here


def test_one_rule_for_what_a_code_is_and_when_two_are_the_same() -> None:
    for typed, same in SPELLINGS:
        assert looks_like_code(typed) and looks_like_code(same), (typed, same)
        assert hash_code(typed) == hash_code(same), (typed, same)
    assert hash_code("ul7k2mq4") != hash_code("ul7k2mq5")
    for text in NOT_CODES:
        assert not looks_like_code(text) and code_problem(text), text
    for text in [typed for pair in SPELLINGS for typed in pair] + NOT_CODES:  # the API's pattern
        assert bool(re.fullmatch(CODE_PATTERN, text)) == looks_like_code(text), text


def test_the_bots_own_codes_follow_the_rule_and_compare_as_before() -> None:
    for _ in range(200):
        code = new_code()
        assert looks_like_code(code) and looks_like_code(code.lower().replace("-", " "))
        assert normalize_code(code) == code.replace("-", "")  # stored hashes stay valid


def _invites(db_url: str, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": db_url, "TELEGRAM_BOT_USERNAME": "school_bot",
           "VIBER_CHAT_URI": "schoolbot"}
    return subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "invites", *args,
                           "--out", str(out)], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def _rows(out: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(out.glob("*.csv")):
        with path.open(encoding="utf-8-sig") as handle:
            rows += list(csv.DictReader(handle))
    return rows


async def test_codes_for_consenting_guardians_with_printable_sheets(db: Database, tmp_path: Path) -> None:
    await small_school(db)
    done = _invites(db.url, tmp_path, "--school", "sch-1")
    assert done.returncode == 0, done.stderr
    rows = _rows(tmp_path)
    # a row per pupil and consenting guardian; Шевчук Анна (no consent) gets no code
    assert sorted((r["Клас"], r["Учень"], r["Батьки / опікун"]) for r in rows) == [
        ("5-А", "Бондар Іван Сергійович", "Бондар Ірина Петрівна"),
        ("5-А", "Коваль Ольга Андріївна", "Коваль Олена Василівна"),
        ("5-А", "Коваль Петро Андрійович", "Коваль Олена Василівна"),
        ("5-А", "Мороз Тарас Олегович", "Мороз Оксана Іванівна")]
    code_of = {r["Батьки / опікун"]: r["Код"] for r in rows}  # one code a guardian
    assert len(set(code_of.values())) == 3 and all(looks_like_code(c) for c in code_of.values())
    koval = code_of["Коваль Олена Василівна"]  # one code for both her children
    assert {r["Код"] for r in rows if r["Учень"].startswith("Коваль")} == {koval}
    for r in rows:  # the deep links carry the row's own code
        assert r["Telegram"] == "https://t.me/school_bot?start=" + r["Код"].replace("-", "")
        assert r["Viber"] == "viber://pa?chatURI=schoolbot&context=" + r["Код"].replace("-", "")
    page = next(tmp_path.glob("*.html")).read_text(encoding="utf-8")
    assert "<svg" in page and rows[0]["Код"] in page
    async with db.unit_of_work() as s:
        assert await find_usable(s, rows[0]["Код"]) is not None
        issued = await s.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "invite.issued"))
        assert issued == len({r["Код"] for r in rows})
        assert (await audit.verify_chain(s)).ok


async def test_a_second_run_skips_guardians_with_codes_and_reissue_invalidates(
        db: Database, tmp_path: Path) -> None:
    await small_school(db)
    assert _invites(db.url, tmp_path / "a", "--school", "sch-1").returncode == 0
    first = _rows(tmp_path / "a")
    assert len(first) == 4
    again = _invites(db.url, tmp_path / "b", "--school", "sch-1")
    assert again.returncode == 0 and "0 codes" in again.stdout
    assert _invites(db.url, tmp_path / "c", "--school", "sch-1", "--reissue").returncode == 0
    new = _rows(tmp_path / "c")
    async with db.unit_of_work() as s:
        assert await find_usable(s, first[0]["Код"]) is None
        assert await find_usable(s, new[0]["Код"]) is not None
        assert await s.scalar(select(func.count()).select_from(InviteCode)) == 2 * len(
            {r["Код"] for r in first})


def test_an_unknown_school_is_one_clear_line(sqlite_db_url: str, tmp_path: Path) -> None:
    done = _invites(sqlite_db_url, tmp_path, "--school", "nope")
    assert done.returncode == 2 and "no school" in done.stderr
