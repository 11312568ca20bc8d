"""The console front end, driven through a pipe exactly as a person would try it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _demo(tmp_path: Path, lines: str) -> str:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
           "DEFAULT_LOCALE": "uk"}
    done = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "demo"], input=lines,
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_demo_parent_reads_the_grades_of_their_child_in_the_console(tmp_path: Path) -> None:
    intro = _demo(tmp_path, "")  # end of input at once: loads the demo city, prints the number
    phone = re.search(r"/contact (\+380\d{9})", intro)
    assert phone, intro
    transcript = _demo(tmp_path, f"/start\n/contact {phone.group(1)}\n1\n1\n")
    assert "Поділитися номером" not in transcript  # the console shows its own hint instead
    assert "/contact +380…" in transcript and "під'єднано" in transcript
    assert "Про кого з дітей? Оберіть:" in transcript      # two children: pick one (by number)
    assert re.search(r"\(\d+-[А-Я]\): оцінки, останні", transcript)
    assert re.search(r"\d+ оцін\w+, середній бал \d+,\d", transcript)
    assert (tmp_path / "demo_data" / "grades.csv").exists()


def test_the_console_turns_numbers_and_labels_into_presses(tmp_path: Path) -> None:
    transcript = _demo(tmp_path, "/start\nДопомога\n/settings\n1\n")
    assert "/grades — Оцінки та середні бали" in transcript
    assert "Language: English" in transcript  # "1" pressed the English button
