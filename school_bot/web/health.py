"""GET /healthz: 200 when the database answers `SELECT 1` in time, 503 when it does not."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from school_bot.storage.db import Database
from school_bot.web.app import DATABASE_KEY
from school_bot.web.middleware import install_middleware, request_id

log = logging.getLogger(__name__)

HEALTH_TIMEOUT = 2.0


def register_health(app: web.Application, *, timeout: float = HEALTH_TIMEOUT) -> None:
    """Route registrar: GET /healthz."""
    install_middleware(app)
    app.router.add_get("/healthz", partial(healthz, timeout=timeout))


async def database_answers(database: Database, timeout: float) -> str | None:
    """None when `SELECT 1` answers within `timeout` seconds, else what went wrong."""
    try:
        async with asyncio.timeout(timeout):
            async with database.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
    except TimeoutError:
        return "timeout"
    except (SQLAlchemyError, OSError) as exc:
        return type(exc).__name__
    return None


async def healthz(request: web.Request, *, timeout: float) -> web.Response:
    problem = await database_answers(request.app[DATABASE_KEY], timeout)
    if problem is None:
        return web.json_response({"status": "ok"})
    log.warning("healthz database unavailable request_id=%s error=%s", request_id(request), problem)
    return web.json_response({"status": "unavailable", "database": problem}, status=503)
