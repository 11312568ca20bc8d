"""A property-based fuzz of the ingest API over real HTTP on a real database.

Bodies are generated from the served OpenAPI document's record schemas (so a field the
API gains is fuzzed too), then spoiled: wrong types, huge strings, odd unicode (NUL,
lone surrogates, right-to-left marks), nulls, nested objects, ids of other schools; and
bodies that are not arrays of objects at all. The API must never answer 500, and after
every example each stored row must still be one the validation would have let in.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select

from school_bot.storage import audit
from school_bot.storage.db import Database
from school_bot.storage.ingest.entities import ATTENDANCE_STATUSES, SPECS, STAFF_ROLES
from school_bot.storage.invites import CODE_PATTERN
from school_bot.storage.models import Attendance, Grade, Guardian, Lesson, School, Staff
from school_bot.storage.phones import normalize_phone
from school_bot.web.openapi import build_document
from tests.support.api import ApiServer, new_key, seed_school, serve

EXAMPLES = 80
DOCUMENT = build_document()
SCHEMAS = DOCUMENT["components"]["schemas"]
ALLOWED = {200, 400, 403, 404, 422}

# what seed_school() stores for schools "1" and "2"
STORED_IDS = {"schools": ["1", "2"], "classes": ["1-7A", "2-7A"], "students": ["1-S1", "2-S1"],
              "lessons": ["1-L1", "2-L1"], "staff": ["1-T1", "2-T1"], "guardians": ["1-G1", "2-G1"]}
KNOWN_IDS = [i for ids in STORED_IDS.values() for i in ids]

# ---------------------------------------------------------------- strategies

CHARACTERS = st.characters()  # U+0000 included: PostgreSQL cannot store it in text
ODD_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "a\udfffb", "\u202eevil", "\ufeff1", "🙂" * 40,
    "Ґанна-Їжак Є'ва", "０５０ １２３ ４５ ６７", "٠٥٠١٢٣٤٥٦٧", "NaN", "1e999", "-0",
    "2024-02-30", "24:00", "25:61", "9999-12-31T23:59:59+14:00", "Europe/Nowhere",
    "../../etc/passwd", "'; DROP TABLE grades; --", "<b>x</b>",
])
HUGE_TEXT = st.builds(lambda ch, n: ch * n, st.sampled_from(["x", "ї", "🙂", "9"]),
                      st.sampled_from([65, 129, 256, 20_001, 70_000]))
SCALAR_JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**19),
    st.floats(allow_nan=False, allow_infinity=False), st.text(CHARACTERS, max_size=20), ODD_TEXT,
    HUGE_TEXT,
)
JUNK = st.recursive(SCALAR_JUNK, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(CHARACTERS, max_size=5), inner, max_size=3)),
    max_leaves=6)
IDS = st.one_of(st.sampled_from(KNOWN_IDS), st.text(CHARACTERS, min_size=1, max_size=8), ODD_TEXT)


def _string(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if schema.get("format") == "date":
        return st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)).map(str)
    if schema.get("format") == "date-time":
        return st.datetimes().map(lambda d: d.isoformat())
    if schema.get("pattern") == CODE_PATTERN:
        return st.from_regex(CODE_PATTERN)
    if "pattern" in schema:
        return st.times().map(lambda t: t.strftime("%H:%M"))
    if "example" in schema:
        return st.one_of(st.just(schema["example"]), st.text(CHARACTERS, max_size=20),
                         st.from_regex(r"\A0(50|67|93)\d{7}\Z"))
    return st.text(CHARACTERS, min_size=schema.get("minLength", 0),
                   max_size=min(schema.get("maxLength", 40), 40))


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values a JSON schema of the document allows (the subset our document uses)."""
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return JUNK


def _id_values(entity: str, column: str) -> st.SearchStrategy[Any]:
    """Mostly ids that exist (so records get stored, and updated), now and then any."""
    spec = SPECS[entity]
    if column in spec.refs:
        known = st.sampled_from(STORED_IDS[spec.refs[column]])
    elif column in spec.key:
        known = st.sampled_from([*STORED_IDS.get(entity, []), "f1", "f2", "f3"])
    else:
        known = st.sampled_from(KNOWN_IDS)
    return st.integers(0, 9).flatmap(lambda n: IDS if n == 0 else known)


@st.composite
def records(draw: st.DrawFn, entity: str) -> dict[str, Any]:
    """A record of the schema; one in three spoiled: a field junked, dropped or added."""
    schema = SCHEMAS[entity.capitalize() + "Record"]
    record: dict[str, Any] = {}
    for name, field_schema in schema["properties"].items():
        if name.endswith("_id"):
            record[name] = draw(_id_values(entity, name))
        else:
            record[name] = draw(from_schema(field_schema))
    if draw(st.integers(0, 2)) == 0:
        for _ in range(draw(st.integers(1, 3))):
            name = draw(st.sampled_from([*schema["properties"], "extra", "__proto__"]))
            if draw(st.booleans()):
                record.pop(name, None)
            else:
                record[name] = draw(JUNK)
    return record


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    entity = draw(st.sampled_from(list(SPECS)))
    shape = draw(st.integers(0, 11))
    if shape <= 8:  # a batch of records, now and then with a non-object among them
        batch: list[Any] = draw(st.lists(records(entity), min_size=1, max_size=6))
        if shape == 8:
            batch.insert(draw(st.integers(0, len(batch))), draw(JUNK))
        return entity, json.dumps(batch, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")
    if shape == 9:  # any JSON at all
        return entity, json.dumps(draw(JUNK)).encode()
    if shape == 10:  # bytes
        return entity, draw(st.binary(max_size=200))
    return draw(st.sampled_from(["../schools", "schools/", "Grades", "%00"])), b"[]"


# ---------------------------------------------------------------- what may be stored


async def stored_garbage(db: Database) -> list[str]:
    """Every stored row that the validation should never have let in."""
    problems: list[str] = []
    async with db.sessions() as session:
        for spec in SPECS.values():
            table = spec.model.__table__
            lengths = {c: c.type.length for c in table.columns
                       if isinstance(c.type, String) and c.type.length}
            strings = list(lengths)
            for row in (await session.execute(select(*strings))).all():
                for column, value in zip(strings, row, strict=True):
                    if value is not None and (len(value) > lengths[column] or "\x00" in value):
                        problems.append(f"{table.name}.{column.name} {value[:20]!r}")
                    if column.primary_key and (not value or value != value.strip()):
                        problems.append(f"{table.name}.{column.name} id {value!r}")
        people: list[Guardian | Staff] = [*(await session.scalars(select(Guardian))).all(),
                                          *(await session.scalars(select(Staff))).all()]
        for person in people:
            if person.phone is not None and normalize_phone(person.phone) != person.phone:
                problems.append(f"{person.__tablename__} phone not E.164")
            if not person.consent and (person.phone or person.full_name):
                problems.append(f"{person.__tablename__} {person.id}: personal data without consent")
        roles = (await session.scalars(select(Staff.role))).all()
        problems.extend(f"staff role {role!r}" for role in roles if role not in STAFF_ROLES)
        grades = (await session.scalars(select(Grade.value))).all()
        problems.extend(f"grade {value}" for value in grades if not 1 <= value <= 12)
        statuses = (await session.scalars(select(Attendance.status))).all()
        problems.extend(f"attendance {status!r}" for status in statuses
                        if status not in ATTENDANCE_STATUSES)
        for starts, ends in (await session.execute(select(Lesson.starts_at, Lesson.ends_at))).all():
            if not (isinstance(starts, time) and isinstance(ends, time) and starts < ends):
                problems.append(f"lesson {starts}-{ends}")
        for zone in (await session.scalars(select(School.timezone))).all():
            ZoneInfo(zone)
        chain = await audit.verify_chain(session)
        if not chain.ok:
            problems.append(f"audit chain: {chain.reason}")
    return problems


# ---------------------------------------------------------------- the fuzz


@pytest.fixture
async def fuzzed(db: Database) -> AsyncIterator[tuple[ApiServer, str, str]]:
    department = await new_key(db, None)
    async with serve(db) as server:
        await seed_school(server, department, "1")
        await seed_school(server, department, "2")
        yield server, department, await new_key(db, "1")


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(body=bodies(), department=st.booleans())
async def test_no_body_gets_a_500_or_stores_garbage(
        fuzzed: tuple[ApiServer, str, str], db: Database, body: tuple[str, bytes],
        department: bool) -> None:
    server, department_key, school_key = fuzzed
    entity, raw = body
    answer = await server.post(entity, raw=raw, key=department_key if department else school_key)
    assert answer.status in ALLOWED, (answer.status, answer.body, raw[:300])
    assert isinstance(answer.body, dict) and ("error" in answer.body or answer.status == 200)
    if answer.status in (200, 422):
        assert answer.body["created"] + answer.body["updated"] + answer.body["unchanged"] \
            + len(answer.body["rejected"]) == len(json.loads(raw))
    assert await stored_garbage(db) == []


def test_the_fuzz_covers_every_entity_and_field() -> None:
    for entity, spec in SPECS.items():
        schema = SCHEMAS[entity.capitalize() + "Record"]
        assert set(schema["properties"]) == set(spec.columns)
    assert re.match(r"^3\.1\.", DOCUMENT["openapi"])
