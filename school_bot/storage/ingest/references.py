"""Which referenced ids exist, and the school each belongs to.

One batch asks once per referenced entity, with `WHERE id IN (...)` for the ids it has
not seen yet; answers (including "unknown") are kept for the rest of the batch or the
file, so a pupil named by a thousand grades is looked up once. An import never deletes,
and no entity refers to its own kind, so the answers cannot go stale within a batch.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from school_bot.storage.ingest.sql import QUERY_SLICE, fetch, padded, placeholders

# id -> (owning school id, the school's time zone for schools)
_OWNER_SQL = {
    "schools": "SELECT id, id, timezone FROM schools WHERE id IN ({})",
    "classes": "SELECT id, school_id, NULL FROM classes WHERE id IN ({})",
    "students": "SELECT s.id, c.school_id, NULL FROM students s JOIN classes c ON c.id = s.class_id "
                "WHERE s.id IN ({})",
    "lessons": "SELECT l.id, c.school_id, NULL FROM lessons l JOIN classes c ON c.id = l.class_id "
               "WHERE l.id IN ({})",
}


class References:
    """Per batch: referenced id -> owning school id (None: no such record).

    With `whole_tables` (a big file), a referenced table is read whole at its first use:
    one query instead of one per chunk.
    """

    def __init__(self, *, whole_tables: bool = False) -> None:
        self._school: dict[str, dict[str, str | None]] = {name: {} for name in _OWNER_SQL}
        self._whole: set[str] = set()
        self.whole_tables = whole_tables
        self.timezones: dict[str, str] = {}

    async def load(self, session: AsyncSession, entity: str, ids: Iterable[str]) -> None:
        if entity in self._whole:
            return
        connection = await session.connection()
        known = self._school[entity]
        if self.whole_tables:
            query = _OWNER_SQL[entity].split(" WHERE ")[0]
            for ident, school, zone in await fetch(connection, query, ()):
                known[ident] = school
                if zone is not None:
                    self.timezones[ident] = zone
            self._whole.add(entity)
            return
        missing = [i for i in set(ids) if i not in known]
        if not missing:
            return
        for start in range(0, len(missing), QUERY_SLICE):
            part = padded(missing[start:start + QUERY_SLICE])
            query = _OWNER_SQL[entity].format(placeholders(connection, len(part)))
            for ident, school, zone in await fetch(connection, query, part):
                known[ident] = school
                if zone is not None:
                    self.timezones[ident] = zone
            for ident in part:
                known.setdefault(ident, None)

    def is_whole(self, entity: str) -> bool:
        """Whether the entity's table has been read whole (no id needs asking for)."""
        return entity in self._whole

    def owners(self, entity: str) -> dict[str, str | None]:
        """The answers so far for an entity: id -> school id (None: no such record)."""
        return self._school[entity]

    def school_of(self, entity: str, ident: str) -> str | None:
        return self._school[entity].get(ident)
