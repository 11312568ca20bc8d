"""The log guard itself must catch what it is there to catch."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pii_guard import find_personal_data

ROOT = Path(__file__).resolve().parents[1]


def test_unmasked_phones_in_every_spelling_are_found() -> None:
    for phone in ("+380501234567", "380501234567", "050 123 45 67", "+38 (050) 123-45-67", "0501234567"):
        assert find_personal_data(f"linked chat for {phone}"), phone


def test_masked_phones_and_ids_are_not_found() -> None:
    assert find_personal_data("linked +380*****4567 account=12 chat=123456789012") == []


def test_full_ukrainian_names_are_found() -> None:
    assert find_personal_data("guardian Шевченко Тарас Григорович erased")
    assert find_personal_data("Коваленко Олена Іванівна")
    assert find_personal_data("Ліцей №7, 5-А, Математика") == []


def test_a_phone_logged_in_a_worker_process_fails_the_whole_run(tmp_path: Path) -> None:
    """The suite runs in two processes (pytest-xdist): a phone a worker's test logs
    fails the run the controller reports, as it does in one process."""
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["tests.support.pii_guard"]\n')
    (tmp_path / "test_leak.py").write_text(
        "import logging\n\n"
        "def test_leaks() -> None:\n"
        "    logging.getLogger('school_bot.leak').info('linked 0501234567')\n\n"
        "def test_quiet() -> None:\n"
        "    pass\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
         "-n", "2", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "2 passed" in run.stdout, run.stdout
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout
    assert "personal data found in logs" in run.stdout
    assert "school_bot.leak" in run.stdout
