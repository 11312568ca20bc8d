"""The console front end, driven through a pipe exactly as a person would try it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

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


def test_the_demo_serves_the_diary_its_link_opens(tmp_path: Path) -> None:
    """`/diary` in the demo prints a one-time link that opens the page in a browser on the
    same machine while the chat runs (the demo serves the web diary on a free port)."""
    intro = _demo(tmp_path, "")
    phone = re.search(r"/contact (\+380\d{9})", intro)
    assert phone, intro
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.sqlite3'}",
           "DEFAULT_LOCALE": "uk", "WEB_PORT": "0"}
    env.pop("WEB_PUBLIC_URL", None)
    demo = subprocess.Popen([sys.executable, str(ROOT / "run_bot.py"), "demo"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=env)
    try:
        assert demo.stdin is not None and demo.stdout is not None
        demo.stdin.write(f"/contact {phone.group(1)}\n/diary\n")
        demo.stdin.flush()
        link = None
        for line in demo.stdout:  # the chat is still open: the server is up
            found = re.search(r"(http://127\.0\.0\.1:\d+/app/l/[\w-]+)", line)
            if found:
                link = found.group(1)
                break
        assert link is not None
        opener = urllib.request.build_opener(_NoRedirects)
        with pytest.raises(urllib.error.HTTPError) as opened:
            opener.open(link, timeout=30)
        assert opened.value.code == 303 and opened.value.headers["Location"] == "../"  # to /app/
        assert "diary_session=" in opened.value.headers["Set-Cookie"]
        with pytest.raises(urllib.error.HTTPError) as again:  # one time only
            opener.open(link, timeout=30)
        assert again.value.code == 410
    finally:
        demo.communicate(timeout=120)  # end of input: the demo stops, and its server with it
    assert demo.returncode == 0


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
