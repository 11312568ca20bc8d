"""Prometheus metrics: one `Metrics` per process, a registry of its own, served at /metrics.

The composition root makes one `Metrics()` and hands the same object to every part that
counts something; the web app carries it under `METRICS_KEY`:

    metrics = Metrics()
    app = build_web_app(database, settings, [metrics.register, register_health, register_api])
    # ... or, from anything holding the app:  metrics = app[METRICS_KEY]

What each part increments:

    metrics.updates_handled.labels(platform="telegram").inc()       # an update handled
    with metrics.handler_latency_seconds.time(): ...                  # or .observe(seconds)
    metrics.deliveries.labels(status="sent").inc()                   # sent|retry|failed|gone
    metrics.ingest_records.labels(result="created").inc(n)           # done by web/api.py

`outbox_depth{priority}` is not incremented by anyone: each scrape counts the outbox rows
not yet in a final state (queued, sending, retry). The registry is never prometheus_client's global default,
so two apps (or two tests) in one process do not collide.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from school_bot.notifications.outbox import FINAL
from school_bot.storage.db import Database
from school_bot.storage.models import OutboxMessage
from school_bot.web.app import DATABASE_KEY
from school_bot.web.middleware import install_middleware

log = logging.getLogger(__name__)

PRIORITIES = (0, 1, 2)  # urgent, normal, bulk
SCRAPE_DB_TIMEOUT = 2.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metric objects of one process, on a registry of their own."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self.updates_handled = Counter(
            "updates_handled", "Messenger updates handled by the conversation core.",
            ["platform"], registry=self.registry)
        self.handler_latency_seconds = Histogram(
            "handler_latency_seconds", "Time from an update's arrival to its replies being ready.",
            buckets=LATENCY_BUCKETS, registry=self.registry)
        self.outbox_depth = Gauge(
            "outbox_depth", "Notifications waiting in the outbox, read at scrape time.",
            ["priority"], registry=self.registry)
        self.deliveries = Counter(
            "deliveries", "Outbox delivery attempts by their outcome.",
            ["status"], registry=self.registry)
        self.ingest_records = Counter(
            "ingest_records", "Records received through the ingest API by their result.",
            ["result"], registry=self.registry)

    def register(self, app: web.Application) -> None:
        """A route registrar: put this object on the app and serve GET /metrics."""
        app[METRICS_KEY] = self
        _add_route(app)

    async def refresh_outbox_depth(self, database: Database) -> None:
        """Read the pending outbox per priority; on failure leave the gauge empty."""
        self.outbox_depth.clear()
        try:
            async with asyncio.timeout(SCRAPE_DB_TIMEOUT):
                counts = await _pending_by_priority(database)
        except (TimeoutError, OSError, SQLAlchemyError) as exc:
            log.warning("metrics outbox_depth unavailable error=%s", type(exc).__name__)
            return
        for priority in sorted(set(PRIORITIES) | set(counts)):
            self.outbox_depth.labels(priority=str(priority)).set(counts.get(priority, 0))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


METRICS_KEY = web.AppKey("metrics", Metrics)
_ROUTE_ADDED = web.AppKey("metrics_route_added", bool)


async def _pending_by_priority(database: Database) -> dict[int, int]:
    query = (select(OutboxMessage.priority, func.count())
             .where(OutboxMessage.status.notin_([status.value for status in FINAL]))
             .group_by(OutboxMessage.priority))
    async with database.sessions() as session:
        rows = (await session.execute(query)).all()
    return {int(priority): int(count) for priority, count in rows}


def ensure_metrics(app: web.Application) -> Metrics:
    """The app's `Metrics`, made (and put on the app) if no part has done so yet."""
    metrics = app.get(METRICS_KEY)
    if metrics is None:
        metrics = Metrics()
        app[METRICS_KEY] = metrics
    return metrics


def register_metrics(app: web.Application) -> None:
    """Route registrar: GET /metrics, with a fresh `Metrics` unless the app has one."""
    ensure_metrics(app)
    _add_route(app)


def _add_route(app: web.Application) -> None:
    if app.get(_ROUTE_ADDED):
        return
    app[_ROUTE_ADDED] = True
    install_middleware(app)
    app.router.add_get("/metrics", metrics_handler)


async def metrics_handler(request: web.Request) -> web.Response:
    metrics = request.app[METRICS_KEY]
    await metrics.refresh_outbox_depth(request.app[DATABASE_KEY])
    return web.Response(body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST})
