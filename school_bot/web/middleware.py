"""What every request of the web server goes through: the client's address, a request id,
one access-log line, and errors answered as JSON.

Behind a proxy named in TRUSTED_PROXIES, `request.remote` is the client that the proxy
names in X-Forwarded-For (`web/forwarded.py`) for every handler and the access line.

The access line names the route template (`/api/v1/{entity}`), never the raw path (a
webhook path may carry a secret), and never a body or a header value. Handlers add
their own fields for the line with `log_field(request, name, value)`.
"""

from __future__ import annotations

import logging
import re
import time
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from school_bot.web.app import SETTINGS_KEY
from school_bot.web.forwarded import client_address

log = logging.getLogger("school_bot.web.access")

REQUEST_ID_HEADER = "X-Request-Id"
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_QUIET_ROUTES = frozenset({"/healthz", "/metrics"})  # probes: logged at DEBUG
_INSTALLED = web.AppKey("web_middleware_installed", bool)
# typed request keys where aiohttp has them (3.13+), plain strings before
_RequestKey: Any = getattr(web, "RequestKey", lambda name, _type: name)
REQUEST_ID = _RequestKey("request_id", str)
LOG_FIELDS = _RequestKey("log_fields", dict)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install_middleware(app: web.Application) -> None:
    """Add the middleware once, however many registrars ask for it."""
    if app.get(_INSTALLED):
        return
    app[_INSTALLED] = True
    app.middlewares.append(request_context)


def new_request_id() -> str:
    """16 URL-safe characters (hex would often hold a digit run that reads like a phone)."""
    return secrets.token_urlsafe(12)


def request_id(request: web.Request) -> str:
    return str(request.get(REQUEST_ID, "-"))


def log_field(request: web.Request, name: str, value: Any) -> None:
    """Add `name=value` to this request's access-log line (no personal data, no bodies)."""
    request.setdefault(LOG_FIELDS, {})[name] = value


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None,
               **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request = _from_the_client(request)
    rid = _incoming_request_id(request) or new_request_id()
    request[REQUEST_ID] = rid
    started = time.perf_counter()
    response = await _answer(request, handler, rid)
    response.headers[REQUEST_ID_HEADER] = rid
    _access_line(request, response.status, time.perf_counter() - started)
    return response


async def _answer(request: web.Request, handler: Handler, rid: str) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            return exc  # redirects and the like pass through unchanged
        return _as_json(exc)
    except Exception:  # a top-level guard: the client gets JSON, the log gets the trace
        log.exception("unhandled error request_id=%s route=%s", rid, _route(request))
        return json_error(500, "internal error", request_id=rid)


def _as_json(exc: web.HTTPException) -> web.Response:
    keep = {name: exc.headers[name] for name in ("Retry-After", "Allow", "WWW-Authenticate")
            if name in exc.headers}
    message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    if exc.content_type == "application/json":
        return web.Response(status=exc.status, text=exc.text, content_type="application/json",
                            headers=keep)
    return json_error(exc.status, message or exc.reason, headers=keep)


def _from_the_client(request: web.Request) -> web.Request:
    """The request as the client sent it, when a trusted proxy forwarded it."""
    settings = request.app.get(SETTINGS_KEY)
    if settings is None or not settings.trusted_proxies:
        return request
    client = client_address(request.remote, request.headers.getall("X-Forwarded-For", ()),
                            settings.trusted_proxies)
    return request if client == request.remote else request.clone(remote=client)


def _incoming_request_id(request: web.Request) -> str | None:
    value = request.headers.get(REQUEST_ID_HEADER, "")
    return value if _GOOD_REQUEST_ID.match(value) else None


def _route(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info is not None and info.route is not None else None
    return resource.canonical if resource is not None else "<unmatched>"


def _access_line(request: web.Request, status: int, seconds: float) -> None:
    route = _route(request)
    fields = {
        "request_id": request[REQUEST_ID],
        "method": request.method,
        "route": route,
        "status": status,
        "ms": round(seconds * 1000, 1),
        "remote": request.remote or "-",
        **request.get(LOG_FIELDS, {}),
    }
    level = logging.DEBUG if route in _QUIET_ROUTES and status < 400 else logging.INFO
    line = " ".join(f"{name}={value}" for name, value in fields.items())
    log.log(level, "http %s", line, extra={"http": fields})
