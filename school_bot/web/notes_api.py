"""The school system reads parents' absence explanations: `GET /api/v1/absence-notes`.

`?after=<cursor>&limit=<n>`: the school's notes written or decided after the cursor,
oldest change first (storage/absence_notes.py: every write takes the next `seq`, in
commit order, so a reader that keeps the last `next_cursor` sees every change once).
`after` defaults to 0 (from the beginning), `limit` to 100 (at most 1000). The answer
is `{"notes": [...], "next_cursor": N, "more": bool}`: `next_cursor` is the last note's
`seq` (the given cursor when there is none), `more` says that another page is ready.

A school's key reads its own school (a `school_id` parameter, if given, must be that
school: 403 otherwise); a department key names the school with `school_id` (400
without it). A note carries the pupil's, class's and guardian's ids of the school
system, the days, the reason's key, the parent's words and the decision; never a
phone or a name.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aiohttp import web

from school_bot.storage.absence_notes import changed_after
from school_bot.storage.models import AbsenceNote, ApiKey
from school_bot.web.app import DATABASE_KEY
from school_bot.web.auth import mark_used
from school_bot.web.middleware import json_error, log_field

NOTES_PATH = "/api/v1/absence-notes"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR = 2**63 - 1  # the column is a BIGINT

_dumps = partial(json.dumps, ensure_ascii=False)


class BadQuery(ValueError):
    """A query parameter the endpoint cannot use; the message says which and why (400)."""


class OtherSchool(BadQuery):
    """A school's key asked for another school (403)."""


def _whole(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None:
        return default
    value = text.strip()
    if not value.isascii() or not value.isdigit():
        raise BadQuery(f"{name} must be a whole number from {low} to {high}, not {text[:32]!r}")
    number = int(value[:20])
    if len(value) > 19 or not low <= number <= high:
        raise BadQuery(f"{name} must be a whole number from {low} to {high}, not {text[:32]!r}")
    return number


def read_query(request: web.Request, key: ApiKey) -> tuple[str, int, int]:
    """(school id, cursor, limit) from the query string, or BadQuery (OtherSchool: a
    school's key with another school's id)."""
    query = request.rel_url.query
    after = _whole("after", query.get("after"), 0, 0, MAX_CURSOR)
    limit = _whole("limit", query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    asked = (query.get("school_id") or "").strip() or None
    if key.school_id is None:
        if asked is None:
            raise BadQuery("a department key reads one school at a time: add ?school_id=<id>")
        return asked, after, limit
    if asked is not None and asked != key.school_id:
        raise OtherSchool("this key reads only its own school's notes")
    return key.school_id, after, limit


def note_record(note: AbsenceNote) -> dict[str, Any]:
    """A note as the school system reads it (ids, days, reason, words, decision)."""
    def at(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "id": note.id, "seq": note.seq, "student_id": note.student_id,
        "class_id": note.class_id, "guardian_id": note.guardian_id,
        "first_day": note.first_day.isoformat(), "last_day": note.last_day.isoformat(),
        "reason": note.reason, "note": note.note, "in_advance": note.in_advance,
        "status": note.status, "decision_note": note.decision_note,
        "decided_at": at(note.decided_at), "created_at": at(note.created_at),
        "updated_at": at(note.updated_at),
    }


async def list_notes(request: web.Request, key: ApiKey) -> web.Response:
    """The page after the cursor (the key is already authenticated)."""
    try:
        school_id, after, limit = read_query(request, key)
    except BadQuery as exc:
        return json_error(403 if isinstance(exc, OtherSchool) else 400, str(exc))
    async with request.app[DATABASE_KEY].unit_of_work() as session:
        if not await mark_used(session, key.id):
            return json_error(401, "this API key has been revoked",
                              headers={"WWW-Authenticate": 'Bearer realm="api"'})
        found = list(await changed_after(session, school_id, after, limit + 1))
        more = len(found) > limit
        page = [note_record(note) for note in found[:limit]]
    log_field(request, "notes", len(page))
    body = {"notes": page, "next_cursor": page[-1]["seq"] if page else after, "more": more}
    return web.json_response(body, dumps=_dumps)
