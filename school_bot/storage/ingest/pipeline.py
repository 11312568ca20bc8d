"""The one path every record takes: parse, de-duplicate, resolve references, check the
school scope, upsert, audit.

`ingest()` is the HTTP API's call; the CSV import drives an `Ingestor` chunk by chunk,
so that duplicate ids and looked-up references are remembered across a whole file.

Auditing. Each batch (an API call, or a committed chunk of a CSV file) writes one
`import.batch` entry with the entity, the counts and the actor, in the same transaction
as the rows it describes. New grades and attendance marks are covered by that entry
rather than one entry each: a city's first load is about a million grades, and a
hash-chained entry per grade would make it take hours. What changes stored data is
audited in detail: every grade whose value changes gets its own `grade.changed` entry
(old and new value, besides the `GradeChange` row), changed attendance marks are listed
in one `attendance.changed` entry per batch (the first hundred, then a count), a school
launch is `school.launched`, and a withdrawn consent is audited by the erasure itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage import audit
from school_bot.storage.erasure import PersonKind, erase_person
from school_bot.storage.ingest.columns import ColumnPlan, Columns, later_than
from school_bot.storage.ingest.entities import ENTITIES, EVENTS, LESSONS, SPECS, EntitySpec, RecordError
from school_bot.storage.ingest.fields import zone
from school_bot.storage.ingest.references import References
from school_bot.storage.ingest.result import ForeignSchoolRecord, IngestResult, Rejection, Written
from school_bot.storage.ingest.sql import load_rows, table_sql
from school_bot.storage.ingest.upsert import (
    ATTENDANCE_CHANGES_LISTED,
    CREATED,
    REJECTED,
    UNCHANGED,
    UPDATED,
    Hooks,
    Item,
    SideEffects,
    columns_to_db,
    hooks_for,
    upsert_columns,
    upsert_guardians,
    upsert_rows,
    upsert_staff,
    write_side_effects,
)
from school_bot.storage.models import Guardian, Staff, utc_now

CHUNK = 5_000
LABELS = {"schools": "school", "classes": "class", "students": "pupil", "lessons": "lesson"}
_PERSON_MODELS: dict[PersonKind, type[Guardian | Staff]] = {"guardian": Guardian, "staff": Staff}


class Ingestor:
    """Validates and upserts the records of one entity, batch after batch.

    `where` names a record's position in reasons: "record" (an index) or "line".
    """

    def __init__(self, entity: str, *, actor: str, school_scope: str | None = None,
                 where: str = "record", whole_tables: bool = False) -> None:
        if entity not in SPECS:
            raise ValueError(f"unknown entity {entity!r}; known: {', '.join(ENTITIES)}")
        self.spec: EntitySpec = SPECS[entity]
        self.actor = actor
        self.scope = school_scope
        self.where = where
        self.refs = References(whole_tables=whole_tables)
        # Set by a caller that knows the table held none of these records: skips the
        # lookup of stored rows (a first load); a conflict means it was wrong.
        self.assume_new = False
        self._seen: dict[tuple[Any, ...], int] = {}
        self._consents_given = self._consents_withdrawn = 0
        table = self.spec.model.__table__
        self._template = {fl.target: fl.default for fl in self.spec.fields
                          if fl.target in table.c}
        self._plan: ColumnPlan | None = None
        if self.columnar:
            self._plan = ColumnPlan(self.spec, _CHECKS.get(entity), _COLUMN_CHECKS.get(entity))

    @property
    def columnar(self) -> bool:
        """Whether a CSV chunk of this entity can be taken column by column: not when
        consent decides per record which fields count, nor when a new record has a rule
        of its own (a school's launch) or needs settling (an event's time zone)."""
        spec = self.spec
        return (not spec.consent_gated and spec is not EVENTS
                and type(hooks_for(spec.name)).created is Hooks.created)

    # ------------------------------------------------------------ parsing

    def parse(self, records: Iterable[tuple[int, dict[str, Any]]]) -> list[Item]:
        """Items for the records, rejected ones included (with the reason)."""
        spec, seen, items = self.spec, self._seen, []
        key_attrs = spec.key_attrs
        first_attr, second_attr = key_attrs[0], key_attrs[-1]
        single = len(key_attrs) == 1
        parse, check = spec.parse, _CHECKS.get(spec.name)
        for pos, raw in records:
            try:
                if raw.__class__ is not dict:
                    raise RecordError("a record must be an object of fields")
                values = parse(raw)
                if check is not None:
                    check(values)
            except RecordError as exc:
                items.append(Item(pos, {}, (), REJECTED, str(exc)))
                continue
            key = (values[first_attr],) if single else (values[first_attr], values[second_attr])
            first = seen.setdefault(key, pos)
            item = Item(pos, values, key)
            if first != pos:
                item.reject(f"duplicate {self._describe(key)}: already at {self.where} {first}")
            items.append(item)
        return items

    def parse_columns(self, header: Sequence[str], cells: Sequence[Sequence[str]],
                      lines: list[int]) -> Columns:
        """A CSV chunk as columns (one list of cells per header name), parsed by the same
        rules as `parse`, duplicates included; the rows left are the good ones."""
        if self._plan is None:
            raise ValueError(f"{self.spec.name} is parsed record by record")
        batch = self._plan.parse(header, cells, lines)
        if not batch.lines:
            return batch
        key_attrs = self.spec.key_attrs
        keys = list(zip(*(batch.values[attr] for attr in key_attrs), strict=True))
        seen = self._seen
        firsts = dict(zip(keys, batch.lines, strict=True))
        if len(firsts) == len(keys) and seen.keys().isdisjoint(firsts):
            seen.update(firsts)
            return batch
        duplicates: dict[int, str] = {}
        for i, (key, pos) in enumerate(zip(keys, batch.lines, strict=True)):
            first = seen.setdefault(key, pos)
            if first != pos:
                duplicates[i] = f"duplicate {self._describe(key)}: already at {self.where} {first}"
        batch.drop(duplicates)
        return batch

    def _describe(self, key: tuple[Any, ...]) -> str:
        return ", ".join(f"{column} {value!r}" for column, value in zip(self.spec.key, key, strict=True))

    # ------------------------------------------------------------ references

    async def resolve(self, session: AsyncSession, items: Sequence[Item]) -> None:
        """Look up the referenced ids; reject records naming an unknown one."""
        spec = self.spec
        refs = [(column, entity, spec.attr(column)) for column, entity in spec.refs.items()]
        for _column, entity, attr in refs:
            await self.refs.load(session, entity, {
                value for item in items if not item.outcome and (value := item.values.get(attr))})
        known = [(column, entity, attr, self.refs.owners(entity)) for column, entity, attr in refs]
        for item in items:
            if item.outcome:
                continue
            values = item.values
            for column, entity, attr, owners in known:
                value = values.get(attr)
                if value is not None and owners.get(value) is None:
                    item.reject(f"{column}: unknown {LABELS[entity]} {value!r}")
                    break
            else:
                if spec is EVENTS:
                    self._settle_event(item)

    async def preload(self, session: AsyncSession) -> None:
        """With whole tables, read the referenced ones now (before chunks are parsed)."""
        if self.refs.whole_tables:
            for entity in dict.fromkeys(self.spec.refs.values()):
                await self.refs.load(session, entity, ())

    def prepare_columns(self, batch: Columns, dialect: Any) -> None:
        """What of `write_columns` needs no database, done ahead (in the CSV reader's
        thread): the references, when their tables were read whole, and the values'
        conversion to the database's form."""
        if all(self.refs.is_whole(entity) for entity in self.spec.refs.values()):
            self._reject_unknown(batch)
        columns_to_db(table_sql(dialect, self.spec.model.__table__), batch)

    async def resolve_columns(self, session: AsyncSession, batch: Columns) -> None:
        """`resolve` for a batch of columns: rows naming an unknown id are rejected."""
        if batch.resolved:
            return
        for column, entity in self.spec.refs.items():
            values = batch.values.get(self.spec.attr(column))
            if values is not None:
                await self.refs.load(session, entity, {value for value in values if value is not None})
        self._reject_unknown(batch)

    def _reject_unknown(self, batch: Columns) -> None:
        unknown: dict[int, str] = {}
        for column, entity in self.spec.refs.items():
            attr = self.spec.attr(column)
            values = batch.values.get(attr)
            if values is None:
                continue
            distinct = set(values)
            distinct.discard(None)
            owners = self.refs.owners(entity)
            missing = {value for value in distinct if owners.get(value) is None}
            if missing:
                for i, value in enumerate(values):
                    if value in missing and i not in unknown:
                        unknown[i] = f"{column}: unknown {LABELS[entity]} {value!r}"
        batch.drop(unknown)
        batch.resolved = True

    def _settle_event(self, item: Item) -> None:
        """An event's class is of its school; a time without an offset is the school's."""
        values = item.values
        school = values["school_id"]
        class_id = values.get("class_id")
        if class_id is not None and self.refs.school_of("classes", class_id) != school:
            item.reject(f"class_id: class {class_id!r} is not of school {school!r}")
            return
        starts = values["starts_at"]
        if starts.tzinfo is None:
            values["starts_at"] = starts.replace(tzinfo=zone(self.refs.timezones[school]))

    def school_of(self, item: Item) -> str | None:
        values = item.values
        column = self.spec.school_via
        value = values.get(self.spec.attr(column))
        entity = self.spec.refs.get(column)
        return value if entity is None else self.refs.school_of(entity, value)

    # ------------------------------------------------------------ the school scope

    async def check_scope(self, session: AsyncSession, items: Sequence[Item]) -> None:
        """Raise ForeignSchoolRecord for the first record of another school, stored or sent."""
        await self.resolve(session, items)
        foreign: list[tuple[int, str]] = []
        for item in items:
            school = None if item.outcome else self.school_of(item)
            if school is not None and school != self.scope:
                foreign.append((item.pos, f"belongs to school {school!r}, outside this key's school"))
        foreign += await self._stored_elsewhere(session, items)
        if foreign:
            pos, reason = min(foreign)
            raise ForeignSchoolRecord(pos, reason)

    async def _stored_elsewhere(self, session: AsyncSession, items: Sequence[Item]) -> list[tuple[int, str]]:
        """Records whose id is already stored for another school (moving it is not allowed)."""
        spec = self.spec
        via = spec.attr(spec.school_via)
        if spec.name == "guardians" or via in spec.key_attrs:
            return []
        live = [item for item in items if not item.outcome]
        table = spec.model.__table__
        connection = await session.connection()
        stored = await load_rows(connection, table, spec.key_attrs, (*spec.key_attrs, via),
                                 [item.key for item in live])
        entity = spec.refs[spec.school_via]
        await self.refs.load(session, entity, {row[via] for row in stored.values()})
        found = []
        for item in live:
            row = stored.get(item.key)
            if row is not None and (school := self.refs.school_of(entity, row[via])) != self.scope:
                found.append((item.pos, f"{self._describe(item.key)} is stored for school {school!r}"))
        return found

    # ------------------------------------------------------------ writing

    async def write(self, session: AsyncSession, items: Sequence[Item]) -> IngestResult:
        """Upsert a chunk (already parsed) in the caller's transaction.

        The chunk's grade changes, attendance changes, launches and erasures are audited
        here; the batch as a whole by `audit_batch` once the caller's batch is done.
        """
        await self.resolve(session, items)
        live = [item for item in items if not item.outcome]
        fx = SideEffects(actor=self.actor, now=utc_now())
        table = self.spec.model.__table__
        if live and self.spec.name == "guardians":
            await upsert_guardians(session, table, self._template, live, fx)
        elif live and self.spec.name == "staff":
            await upsert_staff(session, table, self._template, live, fx, assume_new=self.assume_new)
        elif live:
            await upsert_rows(session, table, self.spec.key_attrs, self._template, live,
                              hooks_for(self.spec.name), fx, assume_new=self.assume_new)
        await write_side_effects(session, fx)
        await self._audit_changes(session, items, fx)
        for kind, person_id in fx.erasures:
            await session.get(_PERSON_MODELS[kind], person_id, populate_existing=True)
            await erase_person(session, kind, person_id, actor=self.actor, reason="consent withdrawn")
        self._consents_given += len(fx.consents)
        self._consents_withdrawn += len(fx.erasures)
        result = _count(items)
        self._note_written(items, result.written)
        return result

    def _note_written(self, items: Sequence[Item], written: Written) -> None:
        """Note what the created and changed records concern (`Written`)."""
        target = _WRITTEN.get(self.spec.name)
        if target is None:
            return
        kind, attr = target
        found = getattr(written, kind)
        found.update(item.values[attr] for item in items if item.outcome in (CREATED, UPDATED))

    async def write_columns(self, session: AsyncSession, batch: Columns) -> IngestResult:
        """`write` for a chunk parsed column-wise (see `parse_columns`)."""
        await self.resolve_columns(session, batch)
        fx = SideEffects(actor=self.actor, now=utc_now())
        created = unchanged = 0
        changed: list[Item] = []
        if batch.lines:
            created, unchanged, changed = await upsert_columns(
                session, self.spec.model.__table__, self.spec.key_attrs, self._template, batch,
                hooks_for(self.spec.name), fx, assume_new=self.assume_new)
        await write_side_effects(session, fx)
        await self._audit_changes(session, changed, fx)
        result = _count(changed)
        result.created += created
        result.unchanged += unchanged
        result.rejected = sorted(batch.rejected, key=lambda r: r.index)
        return result

    async def table_is_empty(self, session: AsyncSession) -> bool:
        name = self.spec.model.__table__.name
        return (await session.execute(text(f"SELECT 1 FROM {name} LIMIT 1"))).first() is None

    async def audit_batch(self, session: AsyncSession, result: IngestResult,
                          extra: dict[str, Any] | None = None) -> None:
        """The batch's `import.batch` entry: entity, counts, actor."""
        details: dict[str, Any] = {"entity": self.spec.name, **result.counts(),
                                   "source": self.actor, **(extra or {})}
        if self._consents_given:
            details["consents_given"] = self._consents_given
        if self._consents_withdrawn:
            details["consents_withdrawn"] = self._consents_withdrawn
        self._consents_given = self._consents_withdrawn = 0
        await audit.record(session, actor=self.actor, action="import.batch", school_id=self.scope,
                           entity=self.spec.name, details=details)

    async def _audit_changes(self, session: AsyncSession, items: Sequence[Item],
                             fx: SideEffects) -> None:
        if fx.grade_changes:
            school = {item.values["id"]: self.school_of(item) for item in items
                      if item.outcome == UPDATED}
            for change in fx.grade_changes:
                await audit.record(
                    session, actor=self.actor, action="grade.changed",
                    school_id=school.get(change["grade_id"]), entity="grade",
                    entity_id=change["grade_id"],
                    details={"old": change["old_value"], "new": change["new_value"]})
        if fx.attendance_changes:
            listed = fx.attendance_changes[:ATTENDANCE_CHANGES_LISTED]
            await audit.record(
                session, actor=self.actor, action="attendance.changed", school_id=self.scope,
                entity="attendance",
                details={"changes": [{"student_id": s, "lesson_id": lesson, "old": old, "new": new}
                                     for s, lesson, old, new in listed],
                         "more": len(fx.attendance_changes) - len(listed)})
        for school_id in fx.launches:
            await audit.record(session, actor=self.actor, action="school.launched",
                               school_id=school_id, entity="school", entity_id=school_id)
        for school_id in fx.unlaunches:
            await audit.record(session, actor=self.actor, action="school.unlaunched",
                               school_id=school_id, entity="school", entity_id=school_id)


def _lesson_times(values: dict[str, Any]) -> None:
    if values["ends_at"] <= values["starts_at"]:
        raise RecordError("ends_at: is not after starts_at")


# entity -> (the `Written` set, the attribute of a record that goes into it)
_WRITTEN = {"attendance": ("pupils", "student_id"), "grades": ("pupils", "student_id"),
             "homework": ("classes", "class_id"), "events": ("events", "id")}
_CHECKS = {LESSONS.name: _lesson_times}  # checks across fields of one record
_COLUMN_CHECKS = {LESSONS.name: later_than("starts_at", "ends_at")}  # the same, a column at a time


def _count(items: Sequence[Item]) -> IngestResult:
    result = IngestResult()
    for item in items:
        if item.outcome == CREATED:
            result.created += 1
        elif item.outcome == UPDATED:
            result.updated += 1
        elif item.outcome == UNCHANGED:
            result.unchanged += 1
        else:
            result.rejected.append(Rejection(item.pos, item.reason))
    return result


async def ingest(session: AsyncSession, entity: str, records: list[dict[str, Any]], *,
                 actor: str, school_scope: str | None = None) -> IngestResult:
    """Validate and upsert a batch of records in the caller's unit of work (not committed).

    Rejected records (with their 0-based index and the reason) never stop the good ones.
    With `school_scope`, every record's school is checked before anything is written,
    and the first record of another school raises ForeignSchoolRecord.
    """
    ingestor = Ingestor(entity, actor=actor, school_scope=school_scope)
    items = ingestor.parse(enumerate(records))
    if school_scope is not None:
        await ingestor.check_scope(session, items)
    result = IngestResult()
    for start in range(0, len(items), CHUNK):
        result.add(await ingestor.write(session, items[start:start + CHUNK]))
    await ingestor.audit_batch(session, result)
    return result
