"""The OpenAPI 3.1 document of the ingest API, derived from the ingest's entity specs
(and the school system's reader of absence notes, `GET /api/v1/absence-notes`).

Each entity's record schema is built from `storage.ingest.entities.SPECS`: its columns,
which are required, and each column's parser (a text's length, a choice's words, a grade's
range), so the document cannot drift from what the API accepts. A parser this module does
not know is described as "any value" and `unknown_parsers()` names it (a test keeps that
list empty).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from aiohttp import web

from school_bot.storage.absence_notes import NOTE_MAX_CHARS, NoteStatus
from school_bot.storage.ingest import fields as f
from school_bot.storage.ingest.entities import SPECS, EntitySpec, Field
from school_bot.storage.ingest.fields import Parser, Text
from school_bot.storage.invites import CODE_PATTERN, IMPORTED_LIFETIME, MAX_LENGTH, MIN_LENGTH
from school_bot.web.notes_api import DEFAULT_LIMIT, MAX_LIMIT, NOTES_PATH

OPENAPI_PATH = "/api/v1/openapi.json"
_DOCUMENT = web.AppKey("openapi_document", bytes)

BOOLEAN_WORDS = sorted(f.TRUE_WORDS | f.FALSE_WORDS)

_PLAIN: dict[Parser, dict[str, Any]] = {
    f.boolean: {"anyOf": [{"type": "boolean"}, {"type": "string", "enum": BOOLEAN_WORDS},
                          {"type": "integer", "enum": [0, 1]}],
                "description": "yes/no, true/false, 1/0 or так/ні"},
    f.iso_date: {"type": "string", "format": "date", "example": "2024-09-02"},
    f.clock_time: {"type": "string", "pattern": r"^\d{1,2}:\d{2}(:\d{2})?$", "example": "08:30",
                   "description": "HH:MM in the school's time zone"},
    f.timestamp: {"type": "string", "format": "date-time", "example": "2024-09-02T18:00:00+03:00",
                  "description": "ISO 8601; without an offset, in the school's time zone"},
    f.integer: {"type": "integer"},
    f.grade_value: {"type": "integer", "minimum": 1, "maximum": 12},
    f.phone: {"type": "string", "example": "+380501234567",
              "description": "any common Ukrainian spelling; stored as E.164"},
    f.timezone: {"type": "string", "example": "Europe/Kyiv", "description": "an IANA time zone"},
    f.invite_code: {
        "anyOf": [{"type": "string", "pattern": CODE_PATTERN, "maxLength": f.INVITE_CODE_TEXT},
                  {"type": "integer"}],
        "example": "ul3k-9x0o",
        "description": "the school system's own invitation code, read only with consent: "
                       f"{MIN_LENGTH} to {MAX_LENGTH} Latin letters and digits once spaces and "
                       "dashes are dropped. Compared ignoring case, spaces and dashes, with the "
                       "Cyrillic look-alikes А В Е К М Н О Р С Т Х І read as Latin and O, I, L "
                       "as 0, 1, 1; one code is one person's. Kept only as a hash, valid for "
                       f"{IMPORTED_LIFETIME.days} days or until used or replaced.",
    },
}


def _closure(parse: Parser) -> dict[str, Any]:
    return dict(inspect.getclosurevars(parse).nonlocals) if parse.__closure__ else {}


def parser_schema(parse: Parser) -> dict[str, Any] | None:
    """The JSON schema of what a parser accepts, or None for a parser not known here."""
    if parse in _PLAIN:
        return dict(_PLAIN[parse])
    if isinstance(parse, Text):
        return {"type": "string", "maxLength": parse.max_length}
    made_by = parse.__qualname__.split(".<locals>", 1)[0]
    captured = _closure(parse)
    if made_by == "one_of" and "choices" in captured:
        return {"type": "string", "enum": list(captured["choices"])}
    return None


def field_schema(field: Field) -> dict[str, Any]:
    schema = parser_schema(field.parse) or {"description": "any value"}
    if field.required:
        if schema.get("type") == "string" and "enum" not in schema:
            schema["minLength"] = 1
        return schema
    return {"anyOf": [schema, {"type": "null"}],
            "description": "optional; null or blank means "
                           + ("none" if field.default is None else json.dumps(field.default))}


def record_schema(spec: EntitySpec) -> dict[str, Any]:
    return {
        "type": "object",
        "title": spec.label,
        "description": f"One {spec.label}, identified by {' + '.join(spec.key)}; "
                       "other fields are ignored.",
        "properties": {fl.column: field_schema(fl) for fl in spec.fields},
        "required": list(spec.required_columns),
        "additionalProperties": True,
    }


def unknown_parsers() -> list[str]:
    return [f"{spec.name}.{fl.column}" for spec in SPECS.values() for fl in spec.fields
            if parser_schema(fl.parse) is None]


# ---------------------------------------------------------------- the document


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schema_name(entity: str) -> str:
    return entity.capitalize() + "Record"


ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}}}
RESULT = {
    "type": "object",
    "required": ["entity", "created", "updated", "unchanged", "rejected"],
    "properties": {
        "entity": {"type": "string"},
        "created": {"type": "integer", "minimum": 0},
        "updated": {"type": "integer", "minimum": 0},
        "unchanged": {"type": "integer", "minimum": 0},
        "rejected": {"type": "array", "items": {
            "type": "object", "required": ["index", "reason"],
            "properties": {"index": {"type": "integer", "minimum": 0,
                                     "description": "the record's 0-based position in the batch"},
                           "reason": {"type": "string"}}}},
    },
}


def _responses() -> dict[str, Any]:
    return {
        "200": _json(_ref("IngestResult"), "Stored: counts, and each rejected record's reason."),
        "400": _json(_ref("Error"), "The body is not valid JSON, or not an array of objects."),
        "401": _json(_ref("Error"), "No API key, an unknown one, or a revoked one."),
        "403": _json(_ref("ForeignSchool"),
                     "A record belongs to a school outside the key's school; nothing was written."),
        "404": _json(_ref("Error"), "No such entity."),
        "413": _json(_ref("Error"), "The body is larger than the server accepts."),
        "422": _json(_ref("AllRejected"), "Every record of the batch was rejected."),
        "429": {**_json(_ref("Error"), "Too many failed authentications from this address or "
                        "with this key's prefix (a valid key is never refused)."),
                "headers": {"Retry-After": {"description": "seconds to wait",
                                            "schema": {"type": "integer"}}}},
    }


def _operation(spec: EntitySpec) -> dict[str, Any]:
    return {"post": {
        "operationId": f"ingest_{spec.name}",
        "summary": f"Create or update {spec.name} (an idempotent upsert by id)",
        "tags": ["ingest"],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "array", "items": _ref(_schema_name(spec.name))}}}},
        "responses": _responses(),
    }}


# ---------------------------------------------------------------- reading absence notes

_DATE = {"type": "string", "format": "date", "example": "2024-09-02"}
_MOMENT = {"type": "string", "format": "date-time", "example": "2024-09-02T18:05:00+00:00"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


ABSENCE_NOTE = {
    "type": "object",
    "title": "absence note",
    "description": "A parent's explanation of a pupil's absence and the school's decision on it. "
                   "Ids are the school system's own; no name or phone of anyone.",
    "required": ["id", "seq", "student_id", "class_id", "guardian_id", "first_day", "last_day",
                 "reason", "note", "in_advance", "status", "decision_note", "decided_at",
                 "created_at", "updated_at"],
    "properties": {
        "id": {"type": "integer", "description": "the note's id in the bot (stable)"},
        "seq": {"type": "integer", "minimum": 1,
                "description": "the cursor value of the note's latest change"},
        "student_id": {"type": "string"}, "class_id": {"type": "string"},
        "guardian_id": {"type": "string", "description": "the guardian who wrote it"},
        "first_day": _DATE, "last_day": _DATE,
        "reason": {"type": "string", "example": "illness",
                   "description": "a key of the city's list of reasons"},
        "note": {**_nullable({"type": "string", "maxLength": NOTE_MAX_CHARS}),
                 "description": "the parent's own words, if any"},
        "in_advance": {"type": "boolean", "description": "reported before the absence"},
        "status": {"type": "string", "enum": [status.value for status in NoteStatus],
                   "description": "open: waiting for the homeroom teacher; document: the "
                                  "teacher asked for a document brought to school (undecided)"},
        "decision_note": {**_nullable({"type": "string"}),
                          "description": "the teacher's reason, if given"},
        "decided_at": {**_nullable(_MOMENT), "description": "when accepted or declined"},
        "created_at": _MOMENT, "updated_at": _MOMENT,
    },
}
NOTES_PAGE = {
    "type": "object",
    "required": ["notes", "next_cursor", "more"],
    "properties": {
        "notes": {"type": "array", "items": _ref("AbsenceNote")},
        "next_cursor": {"type": "integer", "minimum": 0,
                        "description": "pass as `after` for the next page: the last note's "
                                       "`seq`, or the cursor given when the page is empty"},
        "more": {"type": "boolean", "description": "another page is ready at once"},
    },
}


def _notes_operation() -> dict[str, Any]:
    return {"get": {
        "operationId": "list_absence_notes",
        "summary": "Parents' absence explanations and decisions changed after a cursor",
        "description": "Every write (a new note, a decision, the school's `excused` mark "
                       "closing one) gives the note the next `seq`, in commit order: keep "
                       "`next_cursor` and ask again with it to see every change once. Posting "
                       "attendance `excused` for the lessons closes an undecided note as "
                       "accepted.",
        "tags": ["absence notes"],
        "parameters": [
            {"name": "after", "in": "query", "required": False,
             "description": "the cursor: changes after this `seq` (default 0: from the start)",
             "schema": {"type": "integer", "minimum": 0, "default": 0}},
            {"name": "limit", "in": "query", "required": False,
             "description": "notes per page",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT,
                        "default": DEFAULT_LIMIT}},
            {"name": "school_id", "in": "query", "required": False,
             "description": "required with a department key; a school's key reads its own "
                            "school only",
             "schema": {"type": "string"}},
        ],
        "responses": {
            "200": _json(_ref("AbsenceNotesPage"), "A page of notes, oldest change first."),
            "400": _json(_ref("Error"), "A cursor or limit that is not a whole number in "
                         "range, or a department key without school_id."),
            "401": _json(_ref("Error"), "No API key, an unknown one, or a revoked one."),
            "403": _json(_ref("Error"), "A school's key asked for another school."),
            "429": {**_json(_ref("Error"), "Too many failed authentications."),
                    "headers": {"Retry-After": {"description": "seconds to wait",
                                                "schema": {"type": "integer"}}}},
        },
    }}


def build_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {_schema_name(name): record_schema(spec) for name, spec in SPECS.items()}
    schemas.update({
        "Error": ERROR,
        "IngestResult": RESULT,
        "ForeignSchool": {"type": "object", "required": ["error", "index"], "properties": {
            "error": {"type": "string"}, "index": {"type": "integer", "minimum": 0}}},
        "AllRejected": {"allOf": [RESULT, ERROR]},
        "AbsenceNote": ABSENCE_NOTE,
        "AbsenceNotesPage": NOTES_PAGE,
    })
    paths = {f"/api/v1/{name}": _operation(spec) for name, spec in SPECS.items()}
    paths[NOTES_PATH] = _notes_operation()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Online School bot: the school system's ingest API",
            "version": "1",
            "description": "Each school system posts JSON arrays of records with the fields "
                           "of the CSV files. A school's key writes only its own school's "
                           "records; a department key writes every school. Re-posting the "
                           "same records changes nothing. The school system reads parents' "
                           "absence explanations back with GET /api/v1/absence-notes.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                           "description": "Authorization: Bearer sk_..."}},
        },
        "security": [{"apiKey": []}],
    }


def register_openapi(app: web.Application) -> None:
    """Serve GET /api/v1/openapi.json (built once, when the app is put together)."""
    app[_DOCUMENT] = json.dumps(build_document(), ensure_ascii=False, indent=1).encode()
    app.router.add_get(OPENAPI_PATH, openapi_handler)


async def openapi_handler(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_DOCUMENT], content_type="application/json")
