"""The ingest API over real HTTP on a real database: every status code it answers."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from sqlalchemy import func, select

from school_bot.shared.settings import SettingsError, load_settings, parse_networks
from school_bot.storage.db import Database
from school_bot.storage.models import ApiKey, AuditEntry, Grade, GradeChange, SchoolClass, Student
from school_bot.web.auth import PREFIX_LENGTH, FailedAuthLimiter, generate_key, revoke_key
from school_bot.web.forwarded import client_address
from tests.support.api import (
    ApiServer,
    grade,
    guardian,
    new_key,
    school,
    school_class,
    seed_school,
    serve,
    settings_for,
    student,
)


@pytest.fixture
async def server(db: Database) -> AsyncIterator[ApiServer]:
    async with serve(db) as running:
        yield running


@pytest.fixture
async def department_key(db: Database) -> str:
    return await new_key(db, None, "department sync")


async def _count(db: Database, model: type) -> int:
    async with db.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# ---------------------------------------------------------------- 200 and idempotence


async def test_a_batch_is_created_then_reposting_it_changes_nothing(
        server: ApiServer, db: Database, department_key: str) -> None:
    batch = [school("1"), school("2")]
    first = await server.post("schools", batch, key=department_key)
    assert first.status == 200, first.body
    assert first.body == {"entity": "schools", "created": 2, "updated": 0, "unchanged": 0,
                          "rejected": []}
    second = await server.post("schools", batch, key=department_key)
    assert second.status == 200
    assert second.body == {"entity": "schools", "created": 0, "updated": 0, "unchanged": 2,
                           "rejected": []}


async def test_good_records_are_kept_and_bad_ones_reported_by_index(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    answer = await server.post("grades", [
        grade("g1", "1-S1", 11),
        grade("g2", "1-S1", 13),
        {"grade_id": "g3", "student_id": "1-S1", "subject": "Фізика", "date": "2024-09-02"},
    ], key=department_key)
    assert answer.status == 200, answer.body
    assert answer.body["created"] == 1
    assert [r["index"] for r in answer.body["rejected"]] == [1, 2]
    assert all(r["reason"] for r in answer.body["rejected"])
    assert await _count(db, Grade) == 1


async def test_every_write_names_the_key_that_made_it(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    school_key = await new_key(db, "1", "diary of school 1")
    assert (await server.post("grades", [grade("g1", "1-S1", 7)], key=school_key)).status == 200
    assert (await server.post("grades", [grade("g1", "1-S1", 9)], key=school_key)).status == 200
    async with db.sessions() as session:
        key = await session.scalar(select(ApiKey).where(ApiKey.school_id == "1"))
        change = await session.scalar(select(GradeChange))
        actors = set((await session.scalars(select(AuditEntry.actor))).all())
    assert key is not None
    actor = f"api:diary of school 1#{key.id}"
    assert change is not None and (change.old_value, change.new_value) == (7, 9)
    assert change.changed_by == actor
    assert actor in actors
    assert key.last_used_at is not None


# ---------------------------------------------------------------- 401


async def test_no_key_is_401(server: ApiServer) -> None:
    answer = await server.post("schools", [school("1")])
    assert answer.status == 401
    assert "error" in answer.body
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_unknown_key_or_another_scheme_is_401(server: ApiServer) -> None:
    unknown = await server.post("schools", [school("1")], key="sk_not-a-key")
    assert unknown.status == 401 and "error" in unknown.body
    basic = await server.post("schools", [school("1")], headers={"Authorization": "Basic eDp5"})
    assert basic.status == 401


async def test_a_revoked_key_stops_at_once(server: ApiServer, db: Database) -> None:
    key = await new_key(db, None)
    assert (await server.post("schools", [school("1")], key=key)).status == 200
    async with db.unit_of_work() as session:
        key_id = await session.scalar(select(ApiKey.id))
        assert key_id is not None
        await revoke_key(session, key_id, actor="test")
    answer = await server.post("schools", [school("2")], key=key)
    assert answer.status == 401 and "error" in answer.body
    async with db.sessions() as session:
        ids = (await session.scalars(select(AuditEntry.action))).all()
    assert "apikey.revoked" in ids


# ---------------------------------------------------------------- 403 and key isolation


async def test_a_school_key_cannot_write_another_school(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    await seed_school(server, department_key, "2")
    key_1, key_2 = await new_key(db, "1"), await new_key(db, "2")
    classes_before = await _count(db, SchoolClass)

    foreign = await server.post("classes", [school_class("1-8B", "1"), school_class("2-8B", "2")],
                                key=key_1)
    assert foreign.status == 403, foreign.body
    assert foreign.body["index"] == 1 and "error" in foreign.body
    assert await _count(db, SchoolClass) == classes_before  # not even the own record

    # a pupil placed in a class of another school is as foreign as the class itself
    sneaky = await server.post("students", [student("x1", "1-7A")], key=key_2)
    assert sneaky.status == 403 and sneaky.body["index"] == 0
    assert await _count(db, Student) == 2

    assert (await server.post("classes", [school_class("1-8B", "1")], key=key_1)).status == 200
    assert (await server.post("classes", [school_class("2-8B", "2")], key=key_2)).status == 200


async def test_a_school_key_cannot_touch_another_schools_grades(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    await seed_school(server, department_key, "2")
    assert (await server.post("grades", [grade("g1", "1-S1", 10)], key=department_key)).status == 200
    key_2 = await new_key(db, "2")
    answer = await server.post("grades", [grade("g1", "1-S1", 2)], key=key_2)
    assert answer.status == 403
    async with db.sessions() as session:
        assert (await session.get_one(Grade, "g1")).value == 10


# ---------------------------------------------------------------- 404, 405


async def test_an_unknown_entity_is_404(server: ApiServer, department_key: str) -> None:
    answer = await server.post("pupils", [{"id": 1}], key=department_key)
    assert answer.status == 404
    assert "pupils" in answer.body["error"]


async def test_other_paths_and_methods_answer_json(server: ApiServer) -> None:
    missing = await server.get("/no/such/page")
    assert missing.status == 404 and "error" in missing.body
    wrong_method = await server.get("/api/v1/schools")
    assert wrong_method.status == 405 and "error" in wrong_method.body
    assert "POST" in wrong_method.headers["Allow"]


# ---------------------------------------------------------------- 400


@pytest.mark.parametrize(("raw", "says"), [
    (b"[{\"school_id\": ", "malformed JSON"),
    (b"", "malformed JSON"),
    (b"\xff\xfe[]", "UTF-8"),
    (b"{\"school_id\": \"1\"}", "array"),
    (b"\"schools\"", "array"),
    (b"[{\"school_id\": \"1\", \"name\": \"x\"}, 5]", "record 1"),
    (b"[[]]", "record 0"),
    (b"[{\"value\": NaN}]", "NaN"),
    (b"[{\"school_id\": \"1\"}, {\"name\": \"a\\ud800\"}]", "record 1 holds an unpaired surrogate"),
    (b"[" * 100_000, "malformed JSON"),
    (b"[" + b"9" * 5000 + b"]", "malformed JSON"),
])
async def test_a_body_that_is_not_an_array_of_objects_is_400(
        server: ApiServer, department_key: str, raw: bytes, says: str) -> None:
    answer = await server.post("schools", raw=raw, key=department_key)
    assert answer.status == 400, answer.body
    assert says in answer.body["error"]


# ---------------------------------------------------------------- 413


async def test_a_body_over_the_limit_is_413_as_json(db: Database) -> None:
    key = await new_key(db, None)
    async with serve(db, settings_for(db, api_body_limit=2048)) as server:
        big = [school(str(n)) for n in range(100)]
        assert len(json.dumps(big)) > 2048
        declared = await server.post("schools", big, key=key)
        assert declared.status == 413 and "error" in declared.body

        async def chunks():  # no Content-Length: the limit is found while reading
            for _ in range(10):
                yield b" " * 1000

        async with server.client.post(f"{server.base_url}/api/v1/schools", data=chunks(),
                                      headers={"Authorization": f"Bearer {key}"}) as response:
            assert response.status == 413
            assert "error" in await response.json()
        assert (await server.post("schools", [school("1")], key=key)).status == 200


# ---------------------------------------------------------------- 422


async def test_a_batch_whose_every_record_is_rejected_is_422(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    answer = await server.post("grades", [grade("g1", "1-S1", 0), grade("g2", "nobody", 5)],
                               key=department_key)
    assert answer.status == 422, answer.body
    assert [r["index"] for r in answer.body["rejected"]] == [0, 1]
    assert answer.body["created"] == 0 and "error" in answer.body
    assert await _count(db, Grade) == 0


# ---------------------------------------------------------------- 429


def _wrong_key(prefix: str = "") -> str:
    """A key as the API makes them, that no one was given (starting with `prefix`)."""
    return prefix + generate_key()[len(prefix):]


def _via_proxy(*forwarded_for: str) -> dict[str, str]:
    return {"X-Forwarded-For": ", ".join(forwarded_for)}


async def test_a_valid_key_passes_after_thirty_wrong_ones_from_its_address(db: Database) -> None:
    good = await new_key(db, None)
    async with serve(db) as server:
        statuses = [(await server.post("schools", [], key=_wrong_key())).status for _ in range(30)]
        assert statuses == [401] * 10 + [429] * 20
        answer = await server.post("schools", [school("1")], key=good)
        assert answer.status == 200, answer.body
        assert answer.body["created"] == 1


async def test_a_wrong_key_past_the_limit_is_429_with_retry_after(db: Database) -> None:
    now = [1000.0]
    limiter = FailedAuthLimiter(limit=10, window=60, clock=lambda: now[0])
    async with serve(db, limiter=limiter) as server:
        for _ in range(10):
            assert (await server.post("schools", [], key=_wrong_key())).status == 401
        refused = await server.post("schools", [], key=_wrong_key())
        assert refused.status == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.body["retry_after"] == int(refused.headers["Retry-After"])
        assert (await server.post("schools", [])).status == 429  # no key at all: a failure too
        now[0] += 61
        assert (await server.post("schools", [], key=_wrong_key())).status == 401


async def test_guesses_at_one_key_are_limited_from_any_address(db: Database) -> None:
    good = await new_key(db, None)
    async with serve(db, settings_for(db, trusted_proxies="127.0.0.1")) as server:
        prefix = good[:PREFIX_LENGTH]
        for n in range(10):
            guess = await server.post("schools", [], key=_wrong_key(prefix),
                                      headers=_via_proxy(f"203.0.113.{n}"))
            assert guess.status == 401
        refused = await server.post("schools", [], key=_wrong_key(prefix),
                                    headers=_via_proxy("198.51.100.1"))
        assert refused.status == 429 and "Retry-After" in refused.headers
        other = await server.post("schools", [], key=_wrong_key(), headers=_via_proxy("198.51.100.1"))
        assert other.status == 401  # that address had failed once only, with another key
        mine = await server.post("schools", [school("1")], key=good, headers=_via_proxy("198.51.100.2"))
        assert mine.status == 200, mine.body


async def test_through_a_trusted_proxy_each_client_is_limited_on_its_own(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    neighbour, school_system = "203.0.113.10", "203.0.113.20"
    async with serve(db, settings_for(db, trusted_proxies="127.0.0.1,10.0.0.0/8")) as server:
        for _ in range(10):
            answer = await server.post("schools", [], key=_wrong_key(),
                                       headers=_via_proxy(neighbour, "10.1.2.3"))
            assert answer.status == 401
        refused = await server.post("schools", [], key=_wrong_key(), headers=_via_proxy(neighbour))
        assert refused.status == 429
        # what the client wrote left of the address the proxy saw is not believed
        forged = await server.post("schools", [], key=_wrong_key(),
                                   headers=_via_proxy(school_system, neighbour))
        assert forged.status == 429
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="school_bot.web.access"):
            other = await server.post("schools", [], key=_wrong_key(),
                                      headers=_via_proxy(school_system))
        assert other.status == 401
        (line,) = [r for r in caplog.records if r.name == "school_bot.web.access"]
        assert f"remote={school_system}" in line.getMessage()


async def test_from_an_untrusted_peer_a_forged_forwarded_for_is_ignored(db: Database) -> None:
    async with serve(db, settings_for(db, trusted_proxies="10.0.0.0/8")) as server:
        for n in range(10):  # the peer, 127.0.0.1, is no proxy of ours
            answer = await server.post("schools", [], key=_wrong_key(),
                                       headers=_via_proxy(f"203.0.113.{n}"))
            assert answer.status == 401
        refused = await server.post("schools", [], key=_wrong_key(),
                                    headers=_via_proxy("198.51.100.1"))
        assert refused.status == 429


@pytest.mark.parametrize(("peer", "header", "client"), [
    ("10.0.0.1", ["203.0.113.5"], "203.0.113.5"),
    ("10.0.0.1", ["198.51.100.9, 203.0.113.5, 10.0.0.7"], "203.0.113.5"),  # proxies skipped
    ("10.0.0.1", ["198.51.100.9", "203.0.113.5"], "203.0.113.5"),  # two header lines
    ("10.0.0.1", ["not-an-address, 203.0.113.5"], "203.0.113.5"),  # left of the client: unread
    ("10.0.0.1", ["203.0.113.5, bogus"], "10.0.0.1"),  # malformed on the walk: the peer
    ("10.0.0.1", ["203.0.113.5:4711"], "10.0.0.1"),
    ("10.0.0.1", [""], "10.0.0.1"),
    ("10.0.0.1", [], "10.0.0.1"),
    ("10.0.0.1", ["10.0.0.8, 10.0.0.7"], "10.0.0.8"),  # only proxies: the first one asked
    ("::ffff:10.0.0.1", ["2001:db8::5"], "2001:db8::5"),  # an IPv4 proxy on a dual-stack socket
    ("203.0.113.5", ["198.51.100.9"], "203.0.113.5"),  # not a proxy of ours
])
def test_the_client_is_the_first_untrusted_address_from_the_right(
        peer: str, header: list[str], client: str) -> None:
    assert client_address(peer, header, parse_networks("10.0.0.0/8")) == client


def test_trusted_proxies_are_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert [str(n) for n in load_settings(_env_file=None).trusted_proxies] == [
        "127.0.0.1/32", "10.0.0.0/8", "::1/128"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")
    with pytest.raises(SettingsError, match=r"TRUSTED_PROXIES.*'proxy\.local'"):
        load_settings(_env_file=None)


def test_the_failure_counts_stay_bounded() -> None:
    limiter = FailedAuthLimiter(limit=10, window=60, max_clients=1000)
    for n in range(5_000):
        limiter.failed(f"client-{n}", _wrong_key())
    assert limiter.tracked() == 2000


async def test_an_ipv6_client_is_limited_by_its_64_network() -> None:
    from school_bot.web.auth import client_bucket

    assert client_bucket("2001:db8::1") == client_bucket("2001:db8::ffff:1") == "2001:db8::/64"
    assert client_bucket("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_bucket("127.0.0.1") == "127.0.0.1"


# ---------------------------------------------------------------- the request id


async def test_every_answer_carries_a_request_id(server: ApiServer) -> None:
    mine = await server.post("schools", [], headers={"X-Request-Id": "school-sync-000123"})
    assert mine.headers["X-Request-Id"] == "school-sync-000123"
    junk = await server.post("schools", [], headers={"X-Request-Id": "<script>"})
    assert junk.headers["X-Request-Id"] != "<script>" and len(junk.headers["X-Request-Id"]) == 16


# ---------------------------------------------------------------- the access log


async def test_one_access_line_per_request_without_bodies_or_personal_data(
        server: ApiServer, department_key: str, caplog: pytest.LogCaptureFixture) -> None:
    await seed_school(server, department_key, "1")
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="school_bot.web.access"):
        answer = await server.post("guardians", [guardian("1-G2", "1-S1", "050 765 43 21")],
                                   key=department_key, headers={"X-Request-Id": "sync-abc-000001"})
    assert answer.status == 200
    (line,) = [r for r in caplog.records if r.name == "school_bot.web.access"]
    message = line.getMessage()
    assert "request_id=sync-abc-000001" in message and "status=200" in message
    assert "route=/api/v1/{entity}" in message and "entity=guardians" in message
    assert "created=1" in message
    assert line.http["request_id"] == "sync-abc-000001"  # type: ignore[attr-defined]  # the log call's extra
    for secret in ("765", "Шевченко", "Ганна", department_key):
        assert secret not in message


async def test_an_unexpected_error_is_a_json_500_naming_the_request(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    def register_broken(app: web.Application) -> None:
        app.router.add_get("/broken", broken)

    async with serve(db, registrars=[register_broken]) as server:
        answer = await server.get("/broken")
    assert answer.status == 500
    assert answer.body == {"error": "internal error", "request_id": answer.headers["X-Request-Id"]}
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


async def test_a_nul_character_in_a_field_is_a_rejected_record_not_a_500(
        server: ApiServer, db: Database, department_key: str) -> None:
    """Found by the fuzz: PostgreSQL refuses U+0000 in text, so it must never reach it."""
    answer = await server.post("schools", [school("1"), school("2", name="Школа\u0000№2")],
                               key=department_key)
    assert answer.status == 200, answer.body
    assert answer.body["created"] == 1
    assert [r["index"] for r in answer.body["rejected"]] == [1]


async def test_a_key_with_the_longest_name_still_fits_the_audit_log(
        server: ApiServer, db: Database, department_key: str) -> None:
    await seed_school(server, department_key, "1")
    long_named = await new_key(db, "1", "я" * 128)
    assert (await server.post("grades", [grade("g1", "1-S1", 7)], key=long_named)).status == 200
    assert (await server.post("grades", [grade("g1", "1-S1", 8)], key=long_named)).status == 200
    async with db.sessions() as session:
        change = await session.scalar(select(GradeChange))
    assert change is not None and len(change.changed_by) == 128
    assert change.changed_by.startswith("api:яя") and change.changed_by.endswith("#2")
