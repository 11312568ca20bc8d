"""/healthz against a live, a missing and a silent database; /metrics in Prometheus text."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from school_bot.storage.db import Database
from school_bot.web.metrics import Metrics
from tests.support.api import new_key, school, serve
from tests.support.world import World, account, notification

METRIC_NAMES = {"updates_handled", "handler_latency_seconds", "outbox_depth", "deliveries",
                "ingest_records"}


Families = dict[str, dict[tuple[tuple[str, str], ...], float]]  # family -> labels -> value


def _families(text: str) -> Families:
    found: Families = {}
    for family in text_string_to_metric_families(text):
        samples = found.setdefault(family.name, {})
        for sample in family.samples:
            samples[(("__name__", sample.name), *sorted(sample.labels.items()))] = sample.value
    return found


def _value(families: Families, name: str, sample: str, **labels: str) -> float | None:
    key = (("__name__", sample), *sorted(labels.items()))
    return families.get(name, {}).get(key)


# ---------------------------------------------------------------- /healthz


async def test_healthz_is_200_when_the_database_answers(db: Database) -> None:
    async with serve(db) as server:
        answer = await server.get("/healthz")
    assert answer.status == 200
    assert answer.body == {"status": "ok"}


async def test_healthz_is_503_when_the_sqlite_file_cannot_be_opened(tmp_path: Path) -> None:
    dead = Database.connect(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/bot.sqlite3")
    try:
        async with serve(dead) as server:
            answer = await server.get("/healthz")
    finally:
        await dead.dispose()
    assert answer.status == 503
    assert answer.body["status"] == "unavailable"


async def test_healthz_is_503_when_postgresql_refuses() -> None:
    dead = Database.connect("postgresql+asyncpg://postgres@127.0.0.1:1/nothing")
    try:
        async with serve(dead) as server:
            answer = await server.get("/healthz")
    finally:
        await dead.dispose()
    assert answer.status == 503


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_healthz_is_503_in_time_when_the_database_hangs(silent_server: int) -> None:
    hung = Database.connect(f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server}/x")
    try:
        async with serve(hung, health_timeout=0.5) as server:
            answer = await server.get("/healthz")
    finally:
        await hung.dispose()
    assert answer.status == 503
    assert answer.body["database"] == "timeout"  # its own timeout, not the client's


# ---------------------------------------------------------------- /metrics


async def test_metrics_expose_every_name_and_count_ingested_records(db: Database) -> None:
    key = await new_key(db, None)
    async with serve(db) as server:
        assert (await server.post("schools", [school("1"), school("2")], key=key)).status == 200
        assert (await server.post("schools", [school("1"), {"name": "x"}], key=key)).status == 200
        server.metrics.updates_handled.labels(platform="telegram").inc()
        server.metrics.deliveries.labels(status="sent").inc(3)
        server.metrics.handler_latency_seconds.observe(0.02)
        answer = await server.get("/metrics")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    families = _families(answer.body)
    assert set(families) >= METRIC_NAMES
    assert _value(families, "ingest_records", "ingest_records_total", result="created") == 2
    assert _value(families, "ingest_records", "ingest_records_total", result="unchanged") == 1
    assert _value(families, "ingest_records", "ingest_records_total", result="rejected") == 1
    assert _value(families, "updates_handled", "updates_handled_total", platform="telegram") == 1
    assert _value(families, "deliveries", "deliveries_total", status="sent") == 3
    assert _value(families, "handler_latency_seconds", "handler_latency_seconds_count") == 1


async def test_outbox_depth_is_read_from_the_database_at_scrape_time(db: Database) -> None:
    world, chat = World(db), account("1")
    await world.add(chat)
    await world.add(notification(chat.id, "test", f"k{n}", priority=priority, status=status,
                                 next_attempt_at=datetime.now(UTC))
                    for n, (priority, status) in enumerate([(0, "queued"), (1, "queued"),
                                                            (1, "retry"), (1, "sent"),
                                                            (2, "dead"), (2, "sending")]))
    async with serve(db) as server:
        families = _families((await server.get("/metrics")).body)
    depth = dict(families["outbox_depth"])
    assert depth == {
        (("__name__", "outbox_depth"), ("priority", "0")): 1,
        (("__name__", "outbox_depth"), ("priority", "1")): 2,
        (("__name__", "outbox_depth"), ("priority", "2")): 1,
    }


async def test_metrics_still_answer_when_the_database_is_gone(tmp_path: Path) -> None:
    dead = Database.connect(f"sqlite+aiosqlite:///{tmp_path}/no/such/folder/bot.sqlite3")
    try:
        async with serve(dead) as server:
            answer = await server.get("/metrics")
    finally:
        await dead.dispose()
    assert answer.status == 200
    families = _families(answer.body)
    assert "ingest_records" in families
    assert not families.get("outbox_depth")  # no made-up zeros


def test_two_metrics_objects_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.deliveries.labels(status="sent").inc()
    assert b'deliveries_total{status="sent"} 1.0' in first.exposition()
    assert b"deliveries_total{" not in second.exposition()
