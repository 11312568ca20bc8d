"""GET /app/calendar/{token}.ics: a parent's calendar feed (handlers/calendar_feed.py).

The feed is read anew on every request, so an erasure, an unlink, a withdrawn consent, a
school that is no longer launched or a new link takes effect at once; the answer says
`Cache-Control: private, no-store` so that no proxy keeps a copy either. A token that
is unknown, revoked or has nothing left to show is answered the same 404, which does not
tell whether it ever existed. The access line names the route template, never the token.

Limits: requests with a token that finds no feed are counted per client address
(`FailedAuthLimiter`, as the ingest API counts failed keys) and answered 429 past the
limit; a working token is limited per token (`FetchLimiter`), since calendar apps of
many parents may share an address (a calendar service's servers fetch for all its users).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial

from aiohttp import web

from school_bot.handlers.calendar_feed import ROUTE, feed_for_token
from school_bot.storage.db import Reads
from school_bot.storage.link_tokens import hash_token
from school_bot.storage.models import utc_now
from school_bot.web.app import DATABASE_KEY, SETTINGS_KEY
from school_bot.web.auth import FailedAuthLimiter, SlidingWindows, client_bucket
from school_bot.web.middleware import install_middleware, json_error

NO_STORE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex",
            "Referrer-Policy": "no-referrer"}
FAILED_LIMIT, FAILED_WINDOW = 20, 60.0  # unknown tokens from one address a minute
FETCH_LIMIT, FETCH_WINDOW = 30, 600.0   # fetches of one working token in ten minutes


class FetchLimiter(SlidingWindows):
    """Fetches per working token in a sliding window, counted as web/auth.py counts
    failures (`SlidingWindows`): past `limit` in `window` seconds, `retry_after` gives
    the seconds to wait. At most `max_keys` tokens are tracked."""

    def __init__(self, limit: int = FETCH_LIMIT, window: float = FETCH_WINDOW, *,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limit, window, max_keys, clock)


def register_calendar(app: web.Application, *, failed: FailedAuthLimiter | None = None,
                      fetches: FetchLimiter | None = None,
                      clock: Callable[[], datetime] = utc_now) -> None:
    """Route registrar: GET (and HEAD) /app/calendar/{token}.ics."""
    install_middleware(app)
    app.router.add_get(ROUTE, partial(
        calendar_feed,
        failed=failed if failed is not None else FailedAuthLimiter(FAILED_LIMIT, FAILED_WINDOW),
        fetches=fetches if fetches is not None else FetchLimiter(), clock=clock))


def _too_many(wait: float) -> web.Response:
    return json_error(429, "too many requests",
                      headers={"Retry-After": str(math.ceil(wait)), **NO_STORE})


async def calendar_feed(request: web.Request, *, failed: FailedAuthLimiter, fetches: FetchLimiter,
                        clock: Callable[[], datetime]) -> web.Response:
    token = request.match_info["token"]
    key = hash_token(token)
    wait = fetches.retry_after(key)  # only working tokens' fetches are recorded
    if wait is not None:
        return _too_many(wait)
    async with request.app[DATABASE_KEY].unit_of_work(Reads.COMMITTED) as session:
        feed = await feed_for_token(session, token, request.app[SETTINGS_KEY], clock())
    if feed is None:
        wait = failed.failed(client_bucket(request.remote), None)
        if wait is not None:
            return _too_many(wait)
        return json_error(404, "not found", headers=NO_STORE)
    fetches.record(key)
    return web.Response(body=feed, content_type="text/calendar", charset="utf-8",
                        headers={"Content-Disposition": 'inline; filename="school.ics"', **NO_STORE})
