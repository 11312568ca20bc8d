"""Batch upserts: load a chunk's stored rows in one SELECT, compare in Python, then one
executemany INSERT and one executemany UPDATE per set of changed columns.

Only the columns a record carries are compared and written, so the columns the
notification jobs own (`Attendance.alerted_at`, `Grade.notified_at`, `Lesson.reminded_at`,
`Event.announced_at`, ...) are never touched by a re-sync. The few rules beyond
"store what came" are hooks here: a grade's new value keeps the old one as a
`GradeChange`; an attendance mark that becomes an unexcused absence again is alerted
again; a school's launch is stamped; consent is the gate for a person's name and phone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from operator import eq, itemgetter
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from school_bot.storage.ingest import codes
from school_bot.storage.ingest.columns import Columns
from school_bot.storage.ingest.sql import (
    TableSQL,
    copy_columns,
    db_timestamp,
    insert_rows,
    load_rows,
    load_tuples,
    table_sql,
)
from school_bot.storage.models import ConsentRecord, GradeChange, GuardianStudent

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
ATTENDANCE_CHANGES_LISTED = 100  # an audit entry lists this many changed marks, then counts


@dataclass(slots=True)
class Item:
    """One record on its way in: where it came from, its parsed values, what became of it."""

    pos: int
    values: dict[str, Any]
    key: tuple[Any, ...]
    outcome: str = ""
    reason: str = ""

    def reject(self, reason: str) -> None:
        self.outcome, self.reason = REJECTED, reason


@dataclass
class SideEffects:
    """What a chunk's writes imply beyond its own rows; written and audited after them."""

    actor: str
    now: datetime
    db_now: Any = None  # `now` as the database stores it
    grade_changes: list[dict[str, Any]] = field(default_factory=list)
    attendance_changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    consents: list[dict[str, Any]] = field(default_factory=list)
    erasures: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)
    launches: list[str] = field(default_factory=list)
    unlaunches: list[str] = field(default_factory=list)

    def consent_given(self, kind: str, person_id: str) -> None:
        self.consents.append({"person_kind": kind, "person_id": person_id, "consent": True,
                              "source": self.actor, "at": self.now})


class Hooks:
    """Entity rules applied while comparing; the default stores what came."""

    extra_columns: tuple[str, ...] = ()  # stored columns the rules need to see

    def created(self, row: dict[str, Any], fx: SideEffects) -> None:
        pass

    def changed(self, old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any],
                fx: SideEffects) -> None:
        pass


class SchoolHooks(Hooks):
    """`launched` no→yes stamps `launched_at` (a job then tells the parents who waited)."""

    def created(self, row: dict[str, Any], fx: SideEffects) -> None:
        if row["launched"]:
            row["launched_at"] = fx.db_now
            fx.launches.append(row["id"])

    def changed(self, old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any],
                fx: SideEffects) -> None:
        if "launched" in changes:
            changes["launched_at"] = fx.db_now if changes["launched"] else None
            (fx.launches if changes["launched"] else fx.unlaunches).append(old["id"])


class GradeHooks(Hooks):
    def changed(self, old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any],
                fx: SideEffects) -> None:
        if "value" in changes:
            fx.grade_changes.append({"grade_id": old["id"], "old_value": old["value"],
                                     "new_value": changes["value"], "changed_at": fx.now,
                                     "changed_by": fx.actor})


class AttendanceHooks(Hooks):
    """A mark that becomes an unexcused absence (again) is due an alert (again)."""

    def changed(self, old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any],
                fx: SideEffects) -> None:
        if "status" in changes:
            fx.attendance_changes.append(
                (old["student_id"], old["lesson_id"], old["status"], changes["status"]))
            if changes["status"] == "absent":
                changes["alerted_at"] = None


class ConsentHooks(Hooks):
    """No consent, no name or phone: withdrawn consent erases; a new yes re-fills."""

    extra_columns = ("erased_at",)

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def created(self, row: dict[str, Any], fx: SideEffects) -> None:
        if row["consent"]:
            fx.consent_given(self.kind, row["id"])

    def changed(self, old: dict[str, Any], new: dict[str, Any], changes: dict[str, Any],
                fx: SideEffects) -> None:
        if new["consent"]:
            if not old["consent"]:
                fx.consent_given(self.kind, old["id"])
                if old["erased_at"] is not None:
                    changes["erased_at"] = None
        elif old["consent"] or old["full_name"] is not None or old["phone"] is not None:
            changes.pop("consent", None)  # erase_person turns it off and records it
            fx.erasures.append((self.kind, old["id"]))


HOOKS: dict[str, Hooks] = {
    "schools": SchoolHooks(), "grades": GradeHooks(), "attendance": AttendanceHooks(),
    "staff": ConsentHooks("staff"), "guardians": ConsentHooks("guardian"),
}
_PLAIN = Hooks()


def hooks_for(entity: str) -> Hooks:
    return HOOKS.get(entity, _PLAIN)


class TableWriter:
    """Inserts and updates for one table within one transaction, in the database's form."""

    def __init__(self, connection: AsyncConnection, table: Table, template: dict[str, Any],
                 now: datetime) -> None:
        self.connection = connection
        self.table = table
        self.sql = table_sql(connection, table)
        to_db = self.sql.to_db
        base: dict[str, Any] = {}
        for column in table.columns:
            if column.primary_key and column.autoincrement is True:
                continue
            default = column.default
            value = None if default is None else default.arg if default.is_scalar else default.arg(None)
            base[column.key] = to_db(column.key, value)
        base.update({attr: to_db(attr, value) for attr, value in template.items()})
        self.row_template = base
        self.columns = tuple(base)
        self.on_update = {column.key: db_timestamp(connection, now)
                          for column in table.columns if column.onupdate is not None}

    def to_db(self, items: Sequence[Item]) -> None:
        """Convert the items' values in place to what the database stores."""
        processors = [(attr, p) for attr, p in self.sql.processors.items() if attr in self.row_template]
        if not processors:
            return
        for item in items:
            values = item.values
            for attr, processor in processors:
                value = values.get(attr)
                if value is not None:
                    values[attr] = processor(value)

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        as_tuple = itemgetter(*self.columns)  # a tuple: every table has two columns or more
        await insert_rows(self.connection, self.table, self.columns, [as_tuple(row) for row in rows])

    async def update(self, key_attrs: Sequence[str], changes: list[dict[str, Any]]) -> None:
        """Each change holds the new values and the key's (under its own name)."""
        groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
        for change in changes:
            change.update(self.on_update)
            names = tuple(sorted(a for a in change if a not in key_attrs))
            groups[names].append(tuple(change[a] for a in (*names, *key_attrs)))
        for names, rows in groups.items():
            await self.connection.exec_driver_sql(self.sql.update(names, key_attrs), rows)


async def upsert_rows(
    session: AsyncSession, table: Table, key_attrs: Sequence[str], template: dict[str, Any],
    items: Sequence[Item], hooks: Hooks, fx: SideEffects, *, assume_new: bool = False,
) -> None:
    """Insert new rows, update changed ones; each item's outcome says which it was.

    `template` holds the attributes a record may carry, with their value for a new row;
    a record sets only the attributes it carries. Values are compared in the database's
    form (see storage.ingest.sql).
    """
    writer = TableWriter(await session.connection(), table, template, fx.now)
    fx.db_now = db_timestamp(writer.connection, fx.now)
    writer.to_db(items)
    columns = tuple(dict.fromkeys((*key_attrs, *template, *hooks.extra_columns)))
    stored = {} if assume_new else await load_rows(
        writer.connection, table, key_attrs, columns, [item.key for item in items])
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    row_template = writer.row_template
    created = None if type(hooks).created is Hooks.created else hooks.created
    for item in items:
        values = item.values
        old = stored.get(item.key)
        if old is None:
            row = {**row_template, **values}
            if created is not None:
                created(row, fx)
            inserts.append(row)
            stored[item.key] = row  # a later item with the same key compares against it
            item.outcome = CREATED
            continue
        changes = {attr: value for attr, value in values.items()
                   if attr in old and old[attr] != value}
        erasures = len(fx.erasures)
        hooks.changed(old, values, changes, fx)
        if changes:
            old.update(changes)
            changes.update({attr: old[attr] for attr in key_attrs})
            updates.append(changes)
            item.outcome = UPDATED
        else:
            item.outcome = UPDATED if len(fx.erasures) > erasures else UNCHANGED
    if inserts:
        await writer.insert(inserts)
    if updates:
        await writer.update(key_attrs, updates)


async def upsert_columns(
    session: AsyncSession, table: Table, key_attrs: Sequence[str], template: dict[str, Any],
    batch: Columns, hooks: Hooks, fx: SideEffects, *, assume_new: bool = False,
) -> tuple[int, int, list[Item]]:
    """`upsert_rows` for a chunk parsed column-wise: (created, unchanged, changed items).

    New rows are inserted straight from the columns (COPY on PostgreSQL); stored rows are
    read back as tuples and compared whole, so an unchanged row costs one comparison.
    The rows that did change (a re-sync's few) become items and take `upsert_rows`, with
    its hooks: grade history, a re-alerted absence, the `updated_at` stamp. An entity
    with a hook for new rows (a school's launch) does not come this way.
    """
    if type(hooks).created is not Hooks.created:
        raise ValueError("new rows of this entity need their hook: use upsert_rows")
    connection = await session.connection()
    writer = TableWriter(connection, table, template, fx.now)
    fx.db_now = db_timestamp(connection, fx.now)
    carried = [attr for attr in batch.values if attr in writer.row_template]
    if batch.db is None or batch.db_dialect is not connection.dialect:
        columns_to_db(writer.sql, batch)
    db = batch.db
    assert db is not None
    count = len(batch)
    changed: list[int] = []
    fresh: list[bool] | None = None  # None: every row is new
    unchanged = 0
    if not assume_new and count:
        keys = list(zip(*(db[attr] for attr in key_attrs), strict=True))
        compared = [attr for attr in carried if attr not in key_attrs]
        stored = await load_tuples(connection, table, key_attrs, compared, keys)
        if stored:
            olds = list(map(stored.get, keys))
            news = list(zip(*(db[attr] for attr in compared))) if compared else [()] * count
            same = list(map(eq, olds, news))
            fresh = [old is None for old in olds]
            unchanged = same.count(True)
            if unchanged + fresh.count(True) < count:
                changed = [i for i, (old, equal) in enumerate(zip(olds, same, strict=True))
                           if old is not None and not equal]
    created = count - unchanged - len(changed) if fresh is not None else count
    if created:
        columns = [db[attr] if attr in db else [value] * count
                   for attr, value in writer.row_template.items()]
        if fresh is not None:
            columns = [list(compress(column, fresh)) for column in columns]
        await copy_columns(connection, table, writer.columns, columns, created)
    items = [Item(batch.lines[i], batch.row(i), tuple(batch.values[a][i] for a in key_attrs))
             for i in changed]
    if items:
        await upsert_rows(session, table, key_attrs, template, items, hooks, fx)
    return created, unchanged, items


def columns_to_db(sql: TableSQL, batch: Columns) -> None:
    """Set `batch.db`: the batch's columns in the database's form (each distinct value
    converted once). Needs no connection, so the CSV import does it in its reader thread."""
    db: dict[str, list[Any]] = {}
    for attr, values in batch.values.items():
        if attr not in sql.table.c:
            continue
        processor = sql.processors.get(attr)
        if processor is None:
            db[attr] = values
            continue
        try:
            converted = {value: processor(value) for value in set(values) if value is not None}
        except TypeError:  # unhashable: one at a time
            db[attr] = [None if value is None else processor(value) for value in values]
            continue
        converted[None] = None  # type: ignore[index]
        db[attr] = list(map(converted.__getitem__, values))
    batch.db, batch.db_dialect = db, sql.dialect


async def write_side_effects(session: AsyncSession, fx: SideEffects) -> None:
    connection = await session.connection()
    if fx.grade_changes:
        await connection.execute(insert(GradeChange.__table__), fx.grade_changes)
    if fx.consents:
        await connection.execute(insert(ConsentRecord.__table__), fx.consents)


# ---------------------------------------------------------------- people


async def upsert_guardians(session: AsyncSession, table: Table, template: dict[str, Any],
                           items: Sequence[Item], fx: SideEffects) -> None:
    """One record per guardian–pupil pair: the guardian (its last record in the chunk
    wins), the link, and an invitation code if one came with consent."""
    stored_codes = await codes.check(session, items, "guardian_id", fx.now)
    items = [item for item in items if item.outcome != REJECTED]
    last: dict[str, Item] = {}
    for item in items:
        last[item.values["id"]] = item
    people = [Item(item.pos, item.values, (gid,)) for gid, item in last.items()]
    await upsert_rows(session, table, ("id",), template, people, hooks_for("guardians"), fx)
    person_outcome = {person.key[0]: person.outcome for person in people}
    new_links = await _new_links(session, items)
    new_codes = await codes.settle(session, items, "guardian_id", fx.now, stored_codes)
    told: set[str] = set()
    for item in items:
        gid = item.values["id"]
        if (gid, item.values["student_id"]) in new_links:
            item.outcome = CREATED
        elif (person_outcome[gid] != UNCHANGED and gid not in told) or item.pos in new_codes:
            item.outcome = UPDATED
        else:
            item.outcome = UNCHANGED
        told.add(gid)


async def upsert_staff(session: AsyncSession, table: Table, template: dict[str, Any],
                       items: Sequence[Item], fx: SideEffects, *, assume_new: bool = False) -> None:
    """Staff members, and an invitation code if one came with consent."""
    stored_codes = await codes.check(session, items, "staff_id", fx.now)
    items = [item for item in items if item.outcome != REJECTED]
    await upsert_rows(session, table, ("id",), template, items, hooks_for("staff"), fx,
                      assume_new=assume_new)
    new_codes = await codes.settle(session, items, "staff_id", fx.now, stored_codes)
    for item in items:
        if item.outcome == UNCHANGED and item.pos in new_codes:
            item.outcome = UPDATED


async def _new_links(session: AsyncSession, items: Sequence[Item]) -> set[tuple[str, str]]:
    links = GuardianStudent.__table__
    pairs = {(item.values["id"], item.values["student_id"]) for item in items}
    connection = await session.connection()
    stored = await load_rows(connection, links, ("guardian_id", "student_id"),
                             ("guardian_id", "student_id"), pairs)
    new = pairs - set(stored)
    if new:
        await insert_rows(connection, links, ("guardian_id", "student_id"), sorted(new))
    return new
