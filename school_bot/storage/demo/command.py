"""`python -m school_bot.storage.demo FOLDER [--schools N] [--students M] [--seed S] ...`:
the generator on its own, with every option (`python run_bot.py demo-data` has the usual ones)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from .generator import generate_demo_data


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m school_bot.storage.demo FOLDER [--schools N] [--students M] [--seed S] ...`"""
    parser = _parser()
    args = parser.parse_args(argv)
    full = {"auto": None, "full": True, "marks": False}[args.attendance]
    started = time.perf_counter()
    try:
        summary = generate_demo_data(args.folder, schools=args.schools, students=args.students,
                                     seed=args.seed, today=args.today, weeks=args.weeks,
                                     grades_per_day=args.grades_per_day, full_attendance=full,
                                     workers=args.workers)
    except ValueError as exc:
        parser.error(str(exc))
    print(summary.describe())
    print(f"  written in {time.perf_counter() - started:.1f} s")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m school_bot.storage.demo",
        description="Write a deterministic demo folder of school-system CSV files.")
    parser.add_argument("folder", type=Path)
    parser.add_argument("--schools", type=int, default=2)
    parser.add_argument("--students", type=int, default=60, help="pupils per school")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weeks", type=int, default=2, help="school weeks of diary")
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--grades-per-day", type=float, default=1.0)
    parser.add_argument("--attendance", choices=("auto", "full", "marks"), default="auto")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: by size)")
    return parser
