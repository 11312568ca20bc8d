"""The web diary's routes (see the package's docstring): sessions in, JSON and files out.

Every response under `/app/` carries a Content-Security-Policy that admits this origin
alone and no inline script; only the stylesheet and script, named by their content, are
cached. The session cookie is `Secure`, `HttpOnly`, `SameSite=Strict`, scoped to
`/app/`. Refused attempts to start a session (launch data or a link) are limited per
client address (`DIARY_ATTEMPTS` a minute), as the ingest API limits its failed keys
(web/auth.py); a good one always passes.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from aiohttp import web

from school_bot.handlers import web_diary
from school_bot.shared.i18n import chat_locale
from school_bot.shared.settings import Settings
from school_bot.storage.db import Database, Reads
from school_bot.storage.models import utc_now
from school_bot.web.app import DATABASE_KEY, SETTINGS_KEY
from school_bot.web.auth import SlidingWindows, client_bucket
from school_bot.web.diary import sessions
from school_bot.web.middleware import install_middleware, log_field

log = logging.getLogger("school_bot.web.diary")

PREFIX = "/app"
DIARY_ATTEMPTS = 20  # refused session attempts (launch data or link) per client address a minute
MAX_INIT_DATA = 8192
CLOCK_SKEW = 60  # seconds a launch may seem to come from the future
STATIC_FILES = {"diary.js": "text/javascript", "diary.css": "text/css"}
# the same for every parent, named by content in the page: kept until they change
IMMUTABLE = "public, max-age=31536000, immutable"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'self' https://web.telegram.org")


@dataclass(frozen=True)
class TelegramLaunch:
    """What Telegram's launch data (initData) says, once its signature was checked."""

    user_id: int
    language_code: str | None
    auth_date: datetime


LaunchCheck = Callable[[str], "TelegramLaunch | None"]  # initData → its launch, or None if forged


@dataclass
class DiaryConfig:
    settings: Settings
    database: Database
    key: bytes
    telegram: LaunchCheck | None
    clock: Callable[[], datetime]
    limiter: SlidingWindows
    files: dict[str, Asset]


@dataclass(frozen=True)
class Asset:
    """A file of the page, read and compressed once when the app starts."""

    body: bytes
    gzipped: bytes
    content_type: str
    cache: str  # Cache-Control
    version: str | None = None  # a file named by content: kept only when asked by it (?v=)


def _assets() -> dict[str, Asset]:
    """The page's files. The stylesheet and script are named with their content's hash
    (`static/diary.js?v=…`) in the page, so a phone keeps them until they change; the
    page itself is never stored (it is the same for everyone, but small)."""
    package = resources.files("school_bot.web.diary") / "static"
    raw = {name: (package / name).read_bytes() for name in STATIC_FILES}
    version = hashlib.sha256(b"".join(raw[name] for name in sorted(raw))).hexdigest()[:16]
    page = (package / "index.html").read_bytes()
    for name in STATIC_FILES:
        page = page.replace(f'"static/{name}"'.encode(), f'"static/{name}?v={version}"'.encode())
    assets = {name: Asset(body, gzip.compress(body, mtime=0), STATIC_FILES[name], IMMUTABLE, version)
              for name, body in raw.items()}
    assets["index.html"] = Asset(page, gzip.compress(page, mtime=0), "text/html", "no-store")
    return assets


CONFIG_KEY = web.AppKey("web_diary", DiaryConfig)


def register_diary(app: web.Application, *, telegram: LaunchCheck | None = None,
                   clock: Callable[[], datetime] = utc_now, attempts: int = DIARY_ATTEMPTS) -> None:
    install_middleware(app)
    settings = app[SETTINGS_KEY]
    files = _assets()
    app[CONFIG_KEY] = DiaryConfig(settings, app[DATABASE_KEY], sessions.session_key(settings), telegram,
                                  clock, SlidingWindows(attempts, 60.0, 10_000, time.monotonic), files)
    app.on_response_prepare.append(_secure_headers)
    app.router.add_get(PREFIX, _to_page)
    app.router.add_get(f"{PREFIX}/", _page)
    app.router.add_get(PREFIX + "/static/{name}", _static)
    app.router.add_post(f"{PREFIX}/api/session", _telegram_session)
    app.router.add_get(PREFIX + "/l/{token}", _link)
    app.router.add_get(f"{PREFIX}/api/diary", _diary)
    app.router.add_get(PREFIX + "/api/pupil/{ref}", _pupil)


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not request.path.startswith(PREFIX):
        return
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")


def _config(request: web.Request) -> DiaryConfig:
    return request.app[CONFIG_KEY]


# ---------------------------------------------------------------- the page and its files


async def _to_page(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/")


async def _page(request: web.Request) -> web.StreamResponse:
    return _file(request, "index.html")


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return _file(request, name)


def _file(request: web.Request, name: str) -> web.Response:
    """The file as it was compressed at start (where the browser takes gzip)."""
    asset = _config(request).files[name]
    gzipped = "gzip" in request.headers.get("Accept-Encoding", "").lower()
    response = web.Response(body=asset.gzipped if gzipped else asset.body,
                            content_type=asset.content_type, charset="utf-8")
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Vary"] = "Accept-Encoding"
    asked_by_content = asset.version is None or request.query.get("v") == asset.version
    response.headers["Cache-Control"] = asset.cache if asked_by_content else "no-cache"
    return response


# ---------------------------------------------------------------- starting a session


def _hint(request: web.Request) -> str | None:
    """The browser's first language, for words said before the account is known."""
    header = request.headers.get("Accept-Language", "")
    return header.split(",", 1)[0].split(";", 1)[0].strip() or None


def _locale(config: DiaryConfig, hint: str | None) -> str:
    return chat_locale(None, hint, config.settings.default_locale)


def _refused(status: int, reason: str, locale: str, **headers: str) -> web.Response:
    return web.json_response({"error": reason, "message": web_diary.refusal(locale, reason)},
                             status=status, headers=headers or None)


def _refused_attempt(request: web.Request, config: DiaryConfig) -> float | None:
    """Count a refused attempt (launch data or link) from this address; past the limit,
    the seconds to wait. A good one is never counted: parents behind one carrier's
    address are not held up by each other."""
    bucket = client_bucket(request.remote)
    wait = config.limiter.retry_after(bucket)
    if wait is None:
        config.limiter.record(bucket)
    return wait


def _with_session(response: web.Response, config: DiaryConfig, viewer: web_diary.Viewer) -> web.Response:
    ttl = config.settings.web_session_ttl
    expires = int(config.clock().timestamp()) + ttl
    token = sessions.sign(config.key, sessions.Claims(viewer.account_id, viewer.platform, viewer.chat_id,
                                                      expires, viewer.locale))
    response.set_cookie(sessions.COOKIE, token, max_age=ttl, path=f"{PREFIX}/", secure=True,
                        httponly=True, samesite="Strict")
    return response


async def _telegram_session(request: web.Request) -> web.StreamResponse:
    """Telegram's launch data, checked with the bot's token and for its age → a session."""
    config = _config(request)
    init_data = await _init_data(request)
    launch = config.telegram(init_data) if config.telegram is not None and init_data else None
    now = config.clock()
    if launch is None or not _fresh(launch, now, config.settings.webapp_init_max_age):
        wait = _refused_attempt(request, config)
        if wait is not None:
            return _refused(429, "too_many", _locale(config, _hint(request)),
                            **{"Retry-After": str(int(wait) + 1)})
        log_field(request, "diary", "launch-refused")
        return _refused(401, "launch_refused", _locale(config, _hint(request)))
    hint = launch.language_code or _hint(request)
    async with config.database.unit_of_work(Reads.COMMITTED) as session:
        viewer = await web_diary.open_viewer(session, config.settings, "telegram", str(launch.user_id),
                                             hint=hint)
    if viewer is None or not viewer.family:
        log_field(request, "diary", "no-pupils")
        return _refused(403, "no_pupils", viewer.locale if viewer else _locale(config, hint))
    log_field(request, "diary", "session")
    return _with_session(web.json_response({"ok": True}), config, viewer)


async def _init_data(request: web.Request) -> str | None:
    if request.content_length is not None and request.content_length > MAX_INIT_DATA:
        return None
    try:
        body = json.loads(await request.content.read(MAX_INIT_DATA + 1) or b"null")
    except ValueError:
        return None
    value = body.get("init_data") if isinstance(body, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= MAX_INIT_DATA else None


def _fresh(launch: TelegramLaunch, now: datetime, max_age: int) -> bool:
    age = (now - launch.auth_date.astimezone(UTC)).total_seconds()
    return -CLOCK_SKEW <= age <= max_age


async def _link(request: web.Request) -> web.StreamResponse:
    """A one-time link: used up here, it turns into a session and the page."""
    config = _config(request)
    locale = _locale(config, _hint(request))
    bucket = client_bucket(request.remote)
    if config.limiter.retry_after(bucket) is not None:  # this address kept guessing
        return _refusal_page(config, 429, locale, "too_many")
    async with config.database.unit_of_work() as session:
        account = await web_diary.use_link(session, request.match_info["token"], config.clock())
        viewer = None
        if account is not None:
            viewer = await web_diary.open_viewer(session, config.settings, account.platform, account.chat_id,
                                                 account_id=account.id)
    if viewer is None:
        config.limiter.record(bucket)
        log_field(request, "diary", "link-refused")
        return _refusal_page(config, 410, locale, "link_refused")
    if not viewer.family:
        return _refusal_page(config, 403, viewer.locale, "no_pupils")
    log_field(request, "diary", "link-session")
    response = web.Response(status=303, headers={"Location": "../"})
    return _with_session(response, config, viewer)


def _refusal_page(config: DiaryConfig, status: int, locale: str, reason: str) -> web.Response:
    title = html.escape(web_diary.page_strings(locale)["title"])
    text = html.escape(web_diary.refusal(locale, reason))
    version = config.files["diary.css"].version
    body = (f'<!doctype html><html lang="{locale}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{title}</title>'
            f'<link rel="stylesheet" href="{PREFIX}/static/diary.css?v={version}"></head>'
            f'<body><main class="refusal"><h1>{title}</h1><p role="alert">{text}</p></main></body></html>')
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8")


# ---------------------------------------------------------------- data


async def _viewer_or_refusal(request: web.Request, session: Any,
                             config: DiaryConfig) -> web_diary.Viewer | web.Response:
    """The request's session, checked against the account and family as they are now."""
    claims = sessions.verify(config.key, request.cookies.get(sessions.COOKIE), config.clock().timestamp())
    if claims is None:
        return _refused(401, "no_session", _locale(config, _hint(request)))
    viewer = await web_diary.open_viewer(session, config.settings, claims.platform, claims.chat_id,
                                         account_id=claims.account_id, hint=claims.locale or None)
    if viewer is None:
        return _refused(401, "session_ended", _locale(config, _hint(request)))
    if not viewer.family:
        return _refused(403, "no_pupils", viewer.locale)
    return viewer


async def _diary(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    async with config.database.unit_of_work(Reads.COMMITTED) as session:
        viewer = await _viewer_or_refusal(request, session, config)
    if isinstance(viewer, web.Response):
        return viewer
    return _json({"locale": viewer.locale, "strings": web_diary.page_strings(viewer.locale),
                  "pupils": web_diary.family_json(viewer)})


async def _pupil(request: web.Request) -> web.StreamResponse:
    config = _config(request)
    async with config.database.unit_of_work(Reads.COMMITTED) as session:
        viewer = await _viewer_or_refusal(request, session, config)
        if isinstance(viewer, web.Response):
            return viewer
        pupil = web_diary.find(viewer, request.match_info["ref"])
        if pupil is None:
            log_field(request, "diary", "unknown-pupil")
            return _refused(404, "unknown_pupil", viewer.locale)
        now = config.clock()
        month = web_diary.parse_month(request.query.get("month"), pupil.today(now))
        if month is None:
            return _refused(400, "bad_month", viewer.locale)
        found = await web_diary.pupil_diary(session, viewer, pupil, now, month)
    return _json(found)


def _json(data: Any) -> web.Response:
    response = web.Response(text=json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                            content_type="application/json", charset="utf-8")
    response.enable_compression()
    return response
