"""The README's promise: its two commands are the ones CI and a newcomer run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command_under(heading: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split(f"## {heading}", 1)[1]
    block = re.search(r"```sh\n(.+?)\n```", section, re.DOTALL)
    assert block is not None, f"no sh block under {heading!r}"
    return block.group(1).strip()


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _command_under("Test it") in [line.strip() for line in ci]


def test_the_readme_run_command_names_a_real_subcommand() -> None:
    command = _command_under("Run it")
    assert command.startswith("pip install -e . && python run_bot.py ")
    sub = command.rsplit(" ", 1)[1]
    listed = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "--help"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT).stdout
    assert re.search(rf"^\s+{sub}\s", listed, re.MULTILINE)


def test_every_command_in_the_readme_table_exists() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Commands", 1)[1].split("##", 1)[0]
    named = set(re.findall(r"^\| `([a-z-]+)", table, re.MULTILINE))
    listed = subprocess.run([sys.executable, str(ROOT / "run_bot.py"), "--help"],
                            capture_output=True, text=True, timeout=60, cwd=ROOT).stdout
    assert named and all(re.search(rf"^\s+{name}\s", listed, re.MULTILINE) for name in named)
