"""A pytest plugin: everything logged while the suite runs is checked for personal data.

The whole run's log records (our packages down to DEBUG, libraries from INFO) pass
through `find_personal_data`; a phone number that is not masked or a full Ukrainian
name (surname, given name, patronymic) fails the run, naming the logger and the line.
When the suite runs in several processes (pytest-xdist), each worker hands what it
found to the controller, which judges the whole run.
"""

from __future__ import annotations

import logging
import re

import pytest

OUR_PACKAGES = ("school_bot", "run_bot")

_PHONE = re.compile(r"(?<![\d*])(?:\+?38)?[\s(]*0\d{2}[)\s-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_UPPER = "А-ЯІЇЄҐ"
_LOWER = "а-яіїєґ'ʼ’-"
_FULL_NAME = re.compile(
    rf"[{_UPPER}][{_LOWER}]+\s+[{_UPPER}][{_LOWER}]+\s+[{_UPPER}][{_LOWER}]+(?:ович|евич|йович|івна|ївна|овна|ична)\b"
)


def find_personal_data(text: str) -> list[str]:
    return [m.group(0) for m in _PHONE.finditer(text)] + [m.group(0) for m in _FULL_NAME.finditer(text)]


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.violations: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is not our concern here
            return
        if record.exc_text:
            text += "\n" + record.exc_text
        found = find_personal_data(text)
        if found:
            self.violations.append(f"{record.name}:{record.lineno}: {found} in {text[:200]!r}")


_collector = _Collector()


def pytest_configure(config: pytest.Config) -> None:
    logging.getLogger().addHandler(_collector)
    if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
        logging.getLogger().setLevel(logging.INFO)
    for name in OUR_PACKAGES:
        logging.getLogger(name).setLevel(logging.DEBUG)


_WORKER_KEY = "school_bot_personal_data"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None:  # an xdist worker: the controller judges the run
        output[_WORKER_KEY] = list(_collector.violations)
        return
    if _collector.violations and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """pytest-xdist, in the controller: a worker is done; what it found joins the run's."""
    _collector.violations.extend(getattr(node, "workeroutput", {}).get(_WORKER_KEY, []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, exitstatus: int,
                            config: pytest.Config) -> None:
    if _collector.violations:
        terminalreporter.section("personal data found in logs", red=True)
        for line in _collector.violations[:50]:
            terminalreporter.write_line(line)
