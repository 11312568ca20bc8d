"""All the city benchmarks in one go, and one table of their figures at the end.

    python -m bench [--quick] [--only NAME[,NAME]] [--skip NAME] [--data DIR] [--clean-cache]

NAME is one of: import, broadcast, alerts, viber, reports, answers, webapp, memory (in that
order).

* import    - bench/import_city.py: first load and re-sync, SQLite and PostgreSQL;
* broadcast - bench/broadcast.py: an announcement at 30 messages/s, on SQLite
              and on PostgreSQL;
* alerts    - bench/alerts.py: absences posted through the ingest API by 20 schools
              during an announcement to 3,000 parents: alert latency, 429s, the rate;
* viber     - bench/viber_broadcast.py: an announcement to 3,000 Viber parents in
              broadcast_message calls and one by one (calls, seconds), on both databases;
* reports   - bench/reports_city.py: every report, city-wide and one school;
* answers   - bench/answers.py: parents' requests end to end, ours vs a bare aiogram bot,
              with a profile of where an answer's time goes;
* webapp    - bench/webapp.py: 200 parents opening the web diary at once: p50 / p99 of
              each request and of the page, CPU per page beside the bot's CPU per answer;
* memory    - bench/memory.py: RSS of `run_bot.py run` idle and under the answers load.

The city is generated once into the cache folder (bench/common.py) and handed to the
others' scripts as --data, so none generates it again. Their scripts run as
subprocesses with a time limit; their output is shown as it comes, and the figures
the summary needs are read from it (a figure that could not be read says so).
`--quick` uses a small city and smaller counts so that the whole run takes minutes.
Every figure is wall-clock on a shared machine: read them with that noise in mind.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import (
    FULL_CITY,
    QUICK_CITY,
    City,
    cache_root,
    city_folder,
    clean_cache,
    product_version,
    say,
    table,
)

NAMES = ("import", "broadcast", "alerts", "viber", "reports", "answers", "webapp", "memory")
Figures = list[tuple[str, str]]


@dataclass
class Plan:
    city: City
    quick: bool
    root: Path

    @property
    def limit(self) -> float:
        """Seconds any one script may run."""
        return 900.0 if self.quick else 3600.0


# ---------------------------------------------------------------- others' scripts


def run_script(label: str, argv: list[str], limit: float) -> tuple[str, str | None]:
    """Run a script with its output shown as it comes; (output, problem or None)."""
    say(f"\n=== {label}: {' '.join(argv)}")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    lines: list[str] = []
    deadline = started + limit
    timer = _Killer(proc, deadline)
    timer.start()
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        print("  | " + line, end="", flush=True)
    code = proc.wait()
    timer.cancel()
    seconds = time.perf_counter() - started
    problem = None
    if timer.fired:
        problem = f"stopped after the {limit:.0f} s limit"
    elif code != 0:
        problem = f"exit status {code}"
    say(f"=== {label}: {seconds:.0f} s" + (f" ({problem})" if problem else ""))
    return "".join(lines), problem


class _Killer:
    """Ends a script's process group when its time is up."""

    def __init__(self, proc: subprocess.Popen[str], deadline: float) -> None:
        import threading

        self.proc = proc
        self.fired = False
        self._timer = threading.Timer(max(deadline - time.perf_counter(), 0), self._fire)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        if self.proc.poll() is None:
            self.fired = True
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def _shape_args(city: City) -> list[str]:
    return ["--schools", str(city.schools), "--students", str(city.students), "--weeks", str(city.weeks)]


def bench_import(plan: Plan) -> Figures:
    folder = city_folder(plan.city, plan.root)
    output, problem = run_script("import (bench/import_city.py)",
                                 ["bench/import_city.py", "--data", str(folder), *_shape_args(plan.city)],
                                 plan.limit)
    figures: Figures = []
    label = None
    for line in output.splitlines():
        if re.match(r"^(SQLite|PostgreSQL): ", line):
            label = line.strip()
        match = re.match(r"^\s+total\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)", line)
        if match and label:
            figures.append((f"import {label}", (f"{match.group(1)} rows in {match.group(2)} s "
                                                f"({match.group(3)} rows/s)")))
        match = re.match(r"^\s+database size: ([\d,]+) MiB", line)
        if match and label and label.endswith("first load"):
            figures.append((f"import {label.split(':')[0]}: database size", f"{match.group(1)} MiB"))
    return _checked("import", figures, problem)


def bench_broadcast(plan: Plan) -> Figures:
    parents = ["--parents", "600"] if plan.quick else []
    figures: Figures = []
    for backend, extra in (("SQLite", []), ("PostgreSQL", ["--postgres"])):
        output, problem = run_script(f"broadcast on {backend} (bench/broadcast.py)",
                                     ["bench/broadcast.py", *parents, *extra], plan.limit)
        found: Figures = []
        for pattern, name in ((r"achieved rate / limit\s+(.+?)\s+\(goal", "rate ÷ limit"),
                              (r"429 answers received\s+(\d+)", "429 answers"),
                              (r"duplicates\s+(\d+)", "duplicates"),
                              (r"lost\s+(\d+)", "lost"),
                              (r"absence alert latency\s+(.+)$", "absence alert latency")):
            match = re.search(pattern, output, re.MULTILINE)
            if match:
                found.append((f"broadcast {backend}: {name}", match.group(1).strip()))
        figures += _checked(f"broadcast {backend}", found, problem)
    return figures


ALERT_FIGURE = re.compile(r"^(SQLite|PostgreSQL): (alert latency p50 / p95 / p99 / max|"
                          r"alerts missing / duplicates|429 answers|announcement rate / limit)"
                          r"\s{2,}(.+?)\s+\(goal", re.MULTILINE)


def bench_alerts(plan: Plan) -> Figures:
    quick = ["--quick"] if plan.quick else []
    output, problem = run_script("alerts (bench/alerts.py)", ["-m", "bench.alerts", *quick], plan.limit)
    found = [(f"alerts {m.group(1)}: {m.group(2)}", m.group(3).strip())
             for m in ALERT_FIGURE.finditer(output)]
    return _checked("alerts", found, problem)


def bench_viber(plan: Plan) -> Figures:
    parents = ["--parents", "600"] if plan.quick else []
    figures: Figures = []
    for backend, extra in (("SQLite", []), ("PostgreSQL", ["--postgres"])):
        output, problem = run_script(f"viber broadcast on {backend} (bench/viber_broadcast.py)",
                                     ["bench/viber_broadcast.py", *parents, *extra], plan.limit)
        found: Figures = []
        for match in re.finditer(r"^\s+(broadcast|one by one)\s+calls (\d+) broadcast_message \+ "
                                 r"(\d+) send_message\s+seconds ([\d.]+)\s+delivered (\d+)"
                                 r"\s+tooManyRequests (\d+)\s+duplicates (\d+)\s+lost (\d+)",
                                 output, re.MULTILINE):
            way, calls = match.group(1), int(match.group(2)) + int(match.group(3))
            kind = "broadcast_message" if int(match.group(2)) else "send_message"
            found.append((f"viber {backend}: {way}",
                          (f"{calls} {kind} calls, {match.group(4)} s, {match.group(5)} delivered, "
                           f"{match.group(6)} tooManyRequests, {match.group(7)} duplicates, "
                           f"{match.group(8)} lost")))
        figures += _checked(f"viber {backend}", found, problem)
    return figures


def reports_day() -> date:
    """bench/reports_city.py reports on a fixed day; its city must end on that day."""
    try:
        return importlib.import_module("bench.reports_city").TODAY
    except Exception:  # noqa: BLE001 - being edited, or the constant moved: its last known value
        return date(2025, 3, 14)


def bench_reports(plan: Plan) -> Figures:
    folder = city_folder(replace(plan.city, today=reports_day()), plan.root)
    repeat = ["--repeat", "1"] if plan.quick else []
    output, problem = run_script("reports (bench/reports_city.py)",
                                 ["bench/reports_city.py", "--data", str(folder), *_shape_args(plan.city),
                                  *repeat], plan.limit)
    figures: Figures = []
    backends: list[str] = []
    slowest: dict[str, tuple[float, str]] = {}
    for line in output.splitlines():
        if re.match(r"^\s+report\s+scope\s+", line):
            backends = re.split(r"\s{2,}", line.strip())[2:]
            continue
        match = re.match(r"^\s+(\w+)\s+(all|one school)\s+(.*)$", line)
        if not match or not backends:
            continue
        cells = re.findall(r"([\d.]+|nan) \(\s*([\d,]+)\)", match.group(3))
        for backend, (seconds, _rows) in zip(backends, cells, strict=False):
            value = float(seconds)
            if match.group(2) == "all" and value > slowest.get(backend, (-1.0, ""))[0]:
                slowest[backend] = (value, match.group(1))
    for backend, (seconds, report) in slowest.items():
        figures.append((f"reports {backend}: slowest city-wide report", f"{report} {seconds:.2f} s"))
    return _checked("reports", figures, problem)


def _checked(name: str, figures: Figures, problem: str | None) -> Figures:
    if problem:
        figures.append((name, f"FAILED: {problem} (see its output above)"))
    elif not figures:
        figures.append((name, "no figures could be read (see its output above)"))
    return figures


# ---------------------------------------------------------------- ours


def quick_load(plan: Plan) -> Any:
    """The parents' load: 200 parents thinking 5 s on the city, 100 thinking 2 s when quick."""
    from bench.answers import Options

    if plan.quick:
        return Options(parents=100, think=2.0, phase_timeout=180.0)
    return Options(parents=200, think=5.0, phase_timeout=300.0)


def bench_answers(plan: Plan) -> Figures:
    from bench import answers

    say("\n=== answers (bench/answers.py)")
    options = quick_load(plan)
    figures = asyncio.run(answers.bench(plan.city, plan.root, options, ("sqlite", "postgres"),
                                        echo=True, profile=True))
    return answers.report(figures, options)


def bench_webapp(plan: Plan) -> Figures:
    from bench import webapp

    say("\n=== webapp (bench/webapp.py)")
    options = webapp.Options(parents=200, rounds=3)
    results = asyncio.run(webapp.bench(plan.city, plan.root, options, ("sqlite", "postgres")))
    return _checked("webapp", webapp.report(results, options), None)


def bench_memory(plan: Plan) -> Figures:
    from bench import memory

    say("\n=== memory (bench/memory.py)")
    options = quick_load(plan)
    results = asyncio.run(memory.bench(plan.city, plan.root, options, ("sqlite", "postgres"),
                                       idle=5.0 if plan.quick else 10.0))
    return memory.report(results, options.parents)


BENCHMARKS: dict[str, Callable[[Plan], Figures]] = {
    "import": bench_import, "broadcast": bench_broadcast, "alerts": bench_alerts,
    "viber": bench_viber,
    "reports": bench_reports,
    "answers": bench_answers, "webapp": bench_webapp, "memory": bench_memory,
}


# ---------------------------------------------------------------- command line


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                     epilog="benchmarks: " + ", ".join(NAMES))
    parser.add_argument("--quick", action="store_true", help=f"a small city ({QUICK_CITY.describe()})")
    parser.add_argument("--only", default="", help="comma-separated benchmarks to run")
    parser.add_argument("--skip", default="", help="comma-separated benchmarks to leave out")
    parser.add_argument("--data", type=Path, help="cache folder of generated/imported cities")
    parser.add_argument("--clean-cache", action="store_true",
                        help="remove the cached cities and template databases, then exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    root = cache_root(args.data)
    if args.clean_cache:
        clean_cache(root)
        return 0
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    skipped = {n.strip() for n in args.skip.split(",") if n.strip()}
    unknown = (set(chosen) | skipped) - set(NAMES)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; known: {', '.join(NAMES)}")
    plan = Plan(QUICK_CITY if args.quick else FULL_CITY, args.quick, root)
    version = product_version()
    say(f"city: {plan.city.describe()}; {version}; cache {root}; "
        f"{os.cpu_count()} CPUs (shared: figures are noisy)")
    started = time.perf_counter()
    summary: list[tuple[str, str, str]] = []
    for name in [n for n in NAMES if n in chosen and n not in skipped]:
        t0 = time.perf_counter()
        try:
            figures = BENCHMARKS[name](plan)
        except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
            figures = [(name, f"FAILED: {type(exc).__name__}: {exc}")]
        summary += [(name, figure, value) for figure, value in figures]
        summary.append((name, "(wall time of this benchmark)", f"{time.perf_counter() - t0:.0f} s"))
    say(f"\n\n==== summary ({'quick' if args.quick else 'full'} city: {plan.city.describe()}; {version}; "
        f"{time.perf_counter() - started:.0f} s in all; shared 2-core machine, noisy) ====")
    say(table(["benchmark", "figure", "value"], summary, left=3))
    return 1 if any("FAILED" in value for _, _, value in summary) else 0


if __name__ == "__main__":
    sys.exit(main())
