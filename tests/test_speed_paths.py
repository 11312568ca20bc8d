"""SPEED_PATHS: one setting turns every reach into a library's internals off, the
composition root applies it, and the garbage collector's freeze is one of them."""

from __future__ import annotations

import gc
import platform
from collections.abc import Iterator
from pathlib import Path

import pytest

from run_bot import main
from school_bot.bot.gc_freeze import freeze_start_up
from school_bot.shared.settings import load_settings
from school_bot.storage import speed_paths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def unfrozen() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_the_setting_is_on_unless_set_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPEED_PATHS", raising=False)
    assert load_settings(_env_file=None).speed_paths is True
    monkeypatch.setenv("SPEED_PATHS", "false")
    assert load_settings(_env_file=None).speed_paths is False


def test_the_command_line_switches_them_off_before_any_command_runs(
        monkeypatch: pytest.MonkeyPatch, sqlite_db_url: str, speed_paths_on: bool,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DATABASE_URL", sqlite_db_url)
    monkeypatch.setenv("SPEED_PATHS", "false")
    assert main(["audit", "verify"]) == 0
    assert not speed_paths.enabled()
    monkeypatch.setenv("SPEED_PATHS", "true")
    assert main(["audit", "verify"]) == 0
    assert speed_paths.enabled()
    assert "audit log OK" in capsys.readouterr().out


def test_what_start_up_built_is_frozen_only_with_the_speed_paths(
        each_path: bool, unfrozen: None) -> None:
    interpreter = f"{platform.python_implementation()} {platform.python_version()}"
    assert all(hasattr(gc, name) for name in ("freeze", "unfreeze", "get_freeze_count")), (
        f"{interpreter} has no gc.freeze: bot/gc_freeze.py was written for CPython 3.11; "
        "run with SPEED_PATHS=false")
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)  # CPython's own
    assert freeze_start_up() is each_path
    if each_path:
        assert gc.get_freeze_count() > 0, f"{interpreter}: gc.freeze() froze nothing"
        assert gc.get_threshold() == (50_000, 20, 20)
    else:
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == (700, 10, 10)
