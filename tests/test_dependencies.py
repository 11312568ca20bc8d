"""The versions CI tests: pyproject.toml bounds every dependency, requirements.lock pins
the exact versions within those bounds, `.ci/run` installs them, and the reaches into
libraries' internals name the versions locked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from school_bot.bot.telegram import aiogram_internals
from school_bot.storage import sqlalchemy_internals

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
UNBOUNDED = {"tzdata"}  # time zone rules: only ever newer data (pyproject.toml says why)


def _declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return ([Requirement(r) for r in project["dependencies"]],
            [Requirement(r) for r in project["optional-dependencies"]["test"]])


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK.read_text(encoding="utf-8"), re.MULTILINE)
    return {canonicalize_name(name): version for name, version in pins}


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    runtime, test = _declared()
    unbounded = [str(r) for r in runtime + test if canonicalize_name(r.name) not in UNBOUNDED
                 and not any(s.operator in ("<", "<=", "==", "~=") for s in r.specifier)]
    assert not unbounded


def test_the_lock_pins_every_dependency_within_pyprojects_ranges() -> None:
    locked = _locked()
    runtime, test = _declared()
    for requirement in runtime + test:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: regenerate it"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements.lock pins {name} {locked[name]}, outside pyproject's "
            f"{requirement.specifier}: regenerate it")


def test_the_internals_modules_name_the_versions_ci_tests() -> None:
    locked = _locked()
    for module in (aiogram_internals, sqlalchemy_internals):
        for name, version in module.TESTED_WITH.items():
            assert locked[canonicalize_name(name)] == version, (
                f"{module.__name__} says it was tested with {name} {version}, the lock pins "
                f"{locked[canonicalize_name(name)]}: run the suite, then update TESTED_WITH "
                "and the docstring")
            assert version in (module.__doc__ or ""), f"{module.__name__}'s docstring: {name}"


def test_the_lock_says_how_it_is_made_and_ci_installs_it_before_the_tests() -> None:
    header = LOCK.read_text(encoding="utf-8").splitlines()[:2]
    assert "uv pip compile pyproject.toml --extra test" in header[1]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    install = ci.index("pip install -r requirements.lock")
    assert install < ci.index('pip install -e ".[test]" && python -m pytest')


def test_the_image_copies_the_package_and_installs_the_locked_versions() -> None:
    """No container engine runs here, so the Dockerfile is read: what it copies exists,
    the package is among it, and the install takes requirements.lock's versions."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    copied = [source for line in re.findall(r"^COPY (.+)$", dockerfile, re.MULTILINE)
              for source in line.split()[:-1]]
    assert "school_bot" in copied and "requirements.lock" in copied
    assert [source for source in copied if not (ROOT / source).exists()] == []
    assert re.search(r"pip install [^\n]*-c requirements\.lock \.", dockerfile)
