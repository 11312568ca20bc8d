"""The served OpenAPI document is valid and tells the truth about the ingest API."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from school_bot.storage.db import Database
from school_bot.storage.ingest import ENTITIES
from school_bot.storage.ingest.entities import SPECS
from school_bot.web.openapi import unknown_parsers
from tests.support.api import (
    ApiServer,
    grade,
    guardian,
    lesson,
    new_key,
    school,
    school_class,
    serve,
    staff,
    student,
)

STATUS_CODES = {"200", "400", "401", "403", "404", "413", "422", "429"}


@pytest.fixture
async def document(db: Database) -> dict[str, Any]:
    async with serve(db) as server:
        answer = await server.get("/api/v1/openapi.json")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    return answer.body


def _record_schema(document: dict[str, Any], entity: str) -> dict[str, Any]:
    body = document["paths"][f"/api/v1/{entity}"]["post"]["requestBody"]
    items = body["content"]["application/json"]["schema"]["items"]
    name = items["$ref"].rsplit("/", 1)[-1]
    return document["components"]["schemas"][name]


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    resolvable = {**schema, "components": document["components"]}
    return jsonschema.Draft202012Validator(resolvable, format_checker=jsonschema.FormatChecker())


async def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


async def test_every_entity_has_a_path_with_its_fields_and_required_ones(
        document: dict[str, Any]) -> None:
    assert set(document["paths"]) == {f"/api/v1/{entity}" for entity in ENTITIES} | {
        "/api/v1/absence-notes"}
    for entity in ENTITIES:
        spec = SPECS[entity]
        schema = _record_schema(document, entity)
        assert list(schema["properties"]) == list(spec.columns), entity
        assert schema["required"] == list(spec.required_columns), entity
    assert unknown_parsers() == []


async def test_every_status_code_is_documented_with_a_schema(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        if "post" not in item:
            continue
        responses = item["post"]["responses"]
        assert set(responses) == STATUS_CODES, path
        for code, response in responses.items():
            assert response["content"]["application/json"]["schema"], (path, code)
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


async def test_the_documented_examples_pass_their_own_schemas(document: dict[str, Any]) -> None:
    examples = {
        "schools": school("1"), "classes": school_class("1-7A", "1"), "staff": staff("t", "1"),
        "students": student("s", "1-7A"), "guardians": guardian("g", "s"),
        "lessons": lesson("l", "1-7A", "t"), "grades": grade("g", "s"),
        "attendance": {"student_id": "s", "lesson_id": "l", "status": "absent"},
        "homework": {"homework_id": "h", "class_id": "1-7A", "subject": "Історія",
                     "due_date": "2024-09-03", "text": "§ 4"},
        "events": {"event_id": "e", "school_id": "1", "title": "Свято",
                   "starts_at": "2024-09-01T09:00:00+03:00"},
    }
    assert set(examples) == set(ENTITIES)
    for entity, record in examples.items():
        _validator(document, _record_schema(document, entity)).validate(record)
        missing = {k: v for k, v in record.items() if k != SPECS[entity].required_columns[0]}
        assert not _validator(document, _record_schema(document, entity)).is_valid(missing)


async def test_answers_match_the_documented_response_schemas(
        db: Database, document: dict[str, Any]) -> None:
    key = await new_key(db, None)
    schemas = document["paths"]["/api/v1/schools"]["post"]["responses"]
    async with serve(db) as server:
        cases = [
            (await _post(server, [school("1")], key), "200"),
            (await _post(server, [{"name": "no id"}], key), "422"),
            (await _post(server, {"not": "an array"}, key), "400"),
            (await _post(server, [school("1")], None), "401"),
        ]
    for (status, body), code in cases:
        assert str(status) == code
        schema = schemas[code]["content"]["application/json"]["schema"]
        _validator(document, schema).validate(body)


async def test_the_absence_notes_answers_match_their_documented_schemas(
        db: Database, document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/absence-notes"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"after", "limit", "school_id"}
    key = await new_key(db, None)
    async with serve(db) as server:
        assert (await server.post("schools", [school("1")], key=key)).status == 200
        cases = [(await server.get("/api/v1/absence-notes?school_id=1", key=key), "200"),
                 (await server.get("/api/v1/absence-notes?after=x&school_id=1", key=key), "400"),
                 (await server.get("/api/v1/absence-notes"), "401")]
    for answer, code in cases:
        assert str(answer.status) == code, answer.body
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        _validator(document, schema).validate(answer.body)


async def _post(server: ApiServer, records: Any, key: str | None) -> tuple[int, Any]:
    answer = await server.post("schools", records, key=key)
    return answer.status, answer.body
