"""`run_bot.py announce`: an announcement from the server's console.

    python run_bot.py announce --school S1 [--class C1 | --grade 7 | --teachers] \
        [--urgent] [--author NAME] [--no-wait] TEXT
    python run_bot.py announce --city [--urgent] TEXT

The rows are written (and audited) here; the running bot's dispatcher delivers them,
and this command follows the delivery with a progress bar until every row is done.
The operator at the console has the education department's rights; the rule itself
is the one the bot applies (notifications.announcements).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time

from tqdm import tqdm

from school_bot.notifications.announcements import NotAllowed, Progress, create_announcement, operator, progress
from school_bot.notifications.texts import not_allowed
from school_bot.storage.db import Database
from school_bot.shared.settings import Settings

POLL = 0.5


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser("announce", help="send an announcement (the running bot delivers it)")
    parser.add_argument("text", help="the announcement's text")
    parser.add_argument("--school", help="the school's id")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--class", dest="class_id", help="only this class (id)")
    target.add_argument("--grade", type=int, help="only this grade level (e.g. 7)")
    target.add_argument("--teachers", action="store_true", help="the school's staff")
    target.add_argument("--city", action="store_true", help="every launched school")
    parser.add_argument("--urgent", action="store_true", help="priority, ignores quiet hours")
    parser.add_argument("--author", default=None, help="who announces (for the audit log)")
    parser.add_argument("--no-wait", action="store_true", help="do not follow the delivery")
    parser.add_argument("--timeout", type=float, default=None, help="stop following after S seconds")
    parser.set_defaults(handler=handler)


def _audience(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.city:
        return "city", None
    if args.class_id:
        return "class", args.class_id
    if args.grade is not None:
        return "grade", str(args.grade)
    if args.teachers:
        return "teachers", None
    return "school", None


def handler(args: argparse.Namespace, settings: Settings) -> int:
    audience, value = _audience(args)
    if audience != "city" and not args.school:
        print("--school is required (or --city)", file=sys.stderr)
        return 2
    author = operator(args.author or getpass.getuser())
    return asyncio.run(_announce(args, settings, author, audience, value))


async def _announce(args, settings, author, audience, value) -> int:  # type: ignore[no-untyped-def]
    database = Database.connect(settings.database_url)
    try:
        try:
            async with database.unit_of_work() as session:
                announcement = await create_announcement(
                    session, author=author, school_id=args.school, audience=audience,
                    audience_value=value, text=args.text, urgent=args.urgent,
                    default_locale=settings.default_locale)
        except NotAllowed as exc:
            print(not_allowed(settings.default_locale, exc.reason), file=sys.stderr)
            return 1
        print(f"announcement {announcement.id}: {announcement.recipients} recipients")
        if args.no_wait or announcement.recipients == 0:
            return 0
        state = await follow(database, announcement.id, announcement.recipients, args.timeout)
        print(f"sent {state.sent}, delivered {state.delivered}, failed {state.failed}, "
              f"blocked {state.blocked}, waiting {state.waiting}")
        return 0 if state.done else 3
    finally:
        await database.dispose()


async def follow(database: Database, announcement_id: int, total: int,
                 timeout: float | None) -> Progress:
    """A progress bar until every row is done (or `timeout`)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with tqdm(total=total, unit="msg", desc="delivering") as bar:
        while True:
            async with database.unit_of_work() as session:
                state = await progress(session, announcement_id)
            bar.update(state.finished - bar.n)
            bar.set_postfix(sent=state.sent, failed=state.failed, blocked=state.blocked)
            if state.done or (deadline is not None and time.monotonic() >= deadline):
                return state
            await asyncio.sleep(POLL)
