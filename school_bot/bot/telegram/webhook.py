"""`POST /telegram/webhook`: verify the secret, then parse, then feed the update.

The `X-Telegram-Bot-Api-Secret-Token` header is compared in constant time with
TELEGRAM_WEBHOOK_SECRET before the body is even read: a missing or wrong one gets 401
and reaches no handler. The update is handled before the answer (200), so Telegram
re-sends it if the process dies halfway.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from school_bot.bot.telegram.convert import update_id
from school_bot.web.app import RouteRegistrar
from school_bot.web.middleware import install_middleware, json_error

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def secret_matches(given: str | None, secret: str) -> bool:
    return hmac.compare_digest((given or "").encode(), secret.encode())


def webhook_registrar(feed: Callable[[dict[str, Any]], Awaitable[None]],
                      secret: str) -> RouteRegistrar:
    """The route; `feed` handles an update, as the Bot API's JSON (bot/telegram/updates.py,
    as polling does)."""
    if not secret:
        raise ValueError("a Telegram webhook needs a secret")

    async def receive(request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            log.warning("telegram webhook refused: missing or wrong secret")
            return json_error(401, "unauthorized")
        try:
            update = await request.json()
        except ValueError:
            update = None
        if not _an_update(update):
            return json_error(400, "not a Telegram update")
        await feed(update)
        return web.json_response({"ok": True})

    def register(app: web.Application) -> None:
        install_middleware(app)
        app.router.add_post(WEBHOOK_PATH, receive)

    return register


def _an_update(body: Any) -> bool:
    """An object with an integer `update_id` and, if anything else, objects: the shape of
    every Telegram update (what each kind holds is read by bot/telegram/convert.py)."""
    return update_id(body) is not None and all(
        isinstance(value, dict) for key, value in body.items() if key != "update_id")
