"""The school system's door: `POST /api/v1/{entity}` with a JSON array of records (and
`GET /api/v1/absence-notes`, the parents' explanations it reads back: web/notes_api.py).

The order of checks: the key, looked up first (a valid key always passes; a wrong one is
401, or 429 past too many failures from its address or with its prefix: web/auth.py),
the entity (404), the body's size (413) and shape (400); then, in one unit of work,
A's `storage.ingest.ingest` validates and upserts, naming the key as the actor. A record
of another school (403) writes nothing; a batch with every record rejected is 422;
otherwise 200 with the counts and each rejected record's index and reason.

In the same unit of work, before its commit, the notifications the batch causes (an
absence alert, a grade change, ...) are queued (notifications/realtime.py); once it is
committed the worker is woken (notifications/wake.py): a 200 means the alert is on its
way.
"""

from __future__ import annotations

import asyncio
import json
from functools import partial
from typing import Any

from aiohttp import web

from school_bot.notifications.realtime import Realtime
from school_bot.notifications.wake import Wake
from school_bot.storage.ingest import ENTITIES, ForeignSchoolRecord, IngestResult, ingest
from school_bot.storage.models import ApiKey
from school_bot.web.app import DATABASE_KEY, SETTINGS_KEY
from school_bot.web.auth import (
    FailedAuthLimiter,
    actor_for,
    bearer_token,
    client_bucket,
    find_active_key,
    is_key_shaped,
    mark_used,
)
from school_bot.web.metrics import ensure_metrics
from school_bot.web.middleware import install_middleware, json_error, log_field
from school_bot.web.notes_api import NOTES_PATH, list_notes
from school_bot.web.openapi import register_openapi

API_PREFIX = "/api/v1"
BODY_READ_TIMEOUT = 60.0
LIMITER_KEY = web.AppKey("failed_auth_limiter", FailedAuthLimiter)
REALTIME_KEY = web.AppKey("realtime", Realtime)

_dumps = partial(json.dumps, ensure_ascii=False)


class BadBody(ValueError):
    """The body is not a JSON array of objects."""


def register_api(app: web.Application, *, limiter: FailedAuthLimiter | None = None,
                 wake: Wake | None = None) -> None:
    """Route registrar: the ingest endpoints and their OpenAPI document. `wake` is the
    process's (the composition root's); without it only other processes are woken."""
    install_middleware(app)
    ensure_metrics(app)
    app[LIMITER_KEY] = limiter if limiter is not None else FailedAuthLimiter()
    app[REALTIME_KEY] = Realtime.build(app[DATABASE_KEY], app[SETTINGS_KEY],
                                       wake if wake is not None else Wake())
    register_openapi(app)
    app.router.add_post(API_PREFIX + "/{entity}", ingest_handler)
    app.router.add_get(NOTES_PATH, notes_handler)


async def ingest_handler(request: web.Request) -> web.Response:
    key = await _authenticate(request)
    if not isinstance(key, ApiKey):
        return key
    entity = request.match_info["entity"]
    if entity not in ENTITIES:
        return json_error(404, f"unknown entity {entity[:64]!r}; known: {', '.join(ENTITIES)}")
    log_field(request, "entity", entity)
    try:
        records = parse_records(await _read_body(request))
    except BadBody as exc:
        return json_error(400, str(exc))
    return await _ingest(request, key, entity, records)


async def notes_handler(request: web.Request) -> web.Response:
    """GET /api/v1/absence-notes: the school system reads explanations (web/notes_api.py)."""
    key = await _authenticate(request)
    if not isinstance(key, ApiKey):
        return key
    return await list_notes(request, key)


async def _authenticate(request: web.Request) -> ApiKey | web.Response:
    """The request's active API key (noted in its log line), or the refusal to answer
    with (401, or 429 past the limit of failures)."""
    token = bearer_token(request.headers.get("Authorization"))
    key = None
    if token is not None and is_key_shaped(token):
        async with request.app[DATABASE_KEY].sessions() as session:
            key = await find_active_key(session, token)
    if key is None:
        return _refused(request, token)
    log_field(request, "key_id", key.id)
    return key


async def _read_body(request: web.Request) -> bytes:
    limit = request.app[SETTINGS_KEY].api_body_limit
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT):
            return await request.read()  # raises 413 past client_max_size
    except TimeoutError:
        raise web.HTTPRequestTimeout(text="the body took too long to arrive") from None


def parse_records(body: bytes) -> list[dict[str, Any]]:
    """The body as a list of JSON objects, or BadBody with the reason."""
    try:
        data = json.loads(body.decode("utf-8-sig"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadBody("the body is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise BadBody(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except BadBody:
        raise
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise BadBody(f"malformed JSON: {exc}") from None
    except RecursionError:
        raise BadBody("malformed JSON: nested too deeply") from None
    if not isinstance(data, list):
        raise BadBody(f"the body must be a JSON array of records, not {_json_type(data)}")
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise BadBody(f"record {index} must be a JSON object, not {_json_type(item)}")
        if not _is_unicode(item):
            raise BadBody(f"malformed JSON: record {index} holds an unpaired surrogate "
                          r"(\ud800-\udfff), which is not Unicode text")
    return data


def _is_unicode(item: dict[str, Any]) -> bool:
    """False for a `\\udXXX` escape without its pair (strict JSON parsers refuse it too)."""
    try:
        json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _no_constant(name: str) -> Any:
    raise BadBody(f"malformed JSON: {name} is not a JSON number")


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


async def _ingest(request: web.Request, key: ApiKey, entity: str,
                  records: list[dict[str, Any]]) -> web.Response:
    database = request.app[DATABASE_KEY]
    realtime = request.app[REALTIME_KEY]
    try:
        async with database.unit_of_work() as session:
            if not await mark_used(session, key.id):
                raise _Revoked
            result = await ingest(session, entity, records, actor=actor_for(key),
                                  school_scope=key.school_id)
            queued = await realtime.queue(session, entity, result)
    except _Revoked:
        return _unauthorized("this API key has been revoked")
    except ForeignSchoolRecord as exc:
        log_field(request, "foreign_index", exc.index)
        return json_error(403, f"record {exc.index}: {exc.reason}", index=exc.index)
    realtime.committed(queued)
    if queued:
        log_field(request, "queued", queued)
    _count(request, result)
    body = _result_body(entity, result)
    if records and len(result.rejected) == len(records):
        return web.json_response({"error": "every record was rejected", **body}, status=422,
                                 dumps=_dumps)
    return web.json_response(body, dumps=_dumps)


class _Revoked(Exception):
    """The key was revoked between the lookup and the write."""


def _result_body(entity: str, result: IngestResult) -> dict[str, Any]:
    return {
        "entity": entity,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "rejected": [{"index": r.index, "reason": r.reason} for r in result.rejected],
    }


def _count(request: web.Request, result: IngestResult) -> None:
    counter = ensure_metrics(request.app).ingest_records
    counts = {"created": result.created, "updated": result.updated,
              "unchanged": result.unchanged, "rejected": len(result.rejected)}
    for outcome, n in counts.items():
        log_field(request, outcome, n)
        if n:
            counter.labels(result=outcome).inc(n)


def _refused(request: web.Request, token: str | None) -> web.Response:
    """A failed authentication: counted, and 429 when one too many."""
    wait = request.app[LIMITER_KEY].failed(client_bucket(request.remote), token)
    if wait is not None:
        log_field(request, "throttled", 1)
        return _too_many(wait)
    return _unauthorized("a valid API key is required: Authorization: Bearer <key>")


def _unauthorized(message: str) -> web.Response:
    return json_error(401, message, headers={"WWW-Authenticate": 'Bearer realm="api"'})


def _too_many(seconds: float) -> web.Response:
    retry = max(1, int(seconds + 0.999))
    return json_error(429, "too many failed authentications from this address or with this "
                      f"key; try again in {retry} s",
                      headers={"Retry-After": str(retry)}, retry_after=retry)
