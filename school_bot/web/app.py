"""The one aiohttp server of a process: webhooks, the ingest API, health and metrics.

Each part registers its routes with a `RouteRegistrar` (a callable taking the
application); the composition root decides which parts a process serves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from aiohttp import web

from school_bot.storage.db import Database
from school_bot.shared.settings import Settings

RouteRegistrar = Callable[[web.Application], None]

DATABASE_KEY = web.AppKey("database", Database)
SETTINGS_KEY = web.AppKey("settings", Settings)


def build_web_app(
    database: Database, settings: Settings, registrars: Iterable[RouteRegistrar] = ()
) -> web.Application:
    app = web.Application(client_max_size=settings.api_body_limit)
    app[DATABASE_KEY] = database
    app[SETTINGS_KEY] = settings
    for register in registrars:
        register(app)
    return app
