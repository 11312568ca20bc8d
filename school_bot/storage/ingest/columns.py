"""A CSV chunk parsed column by column: the same rules as `EntitySpec.parse`, at a
fraction of the cost per row.

A city's diary is millions of rows whose columns repeat a few values (80 school days,
eight lesson times, four attendance statuses) or are plain ids. So a column's values
are stripped and checked together (lengths, NUL, blanks), and a parser that is not a
plain text check runs once per distinct value of the column, not once per row (the
answers are kept for the whole file). A row that any of this finds fault with goes
through `EntitySpec.parse` itself, which rejects it with its usual reason: the
column path decides only what is plainly fine, and the row path has the last word on
everything else, so both paths accept and reject exactly the same records.

The rows that survive are what `upsert.upsert_columns` writes, still column by column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import le
from typing import Any

from school_bot.storage.ingest.entities import EntitySpec, Field, RecordError
from school_bot.storage.ingest.result import Rejection

RowCheck = Callable[[dict[str, Any]], None]  # raises RecordError
ColumnCheck = Callable[[dict[str, list[Any]]], list[int]]  # the indexes of the rows that fail
_BAD = object()  # a cached answer: this value is rejected (the row path says why)
CACHE_LIMIT = 200_000  # distinct values remembered per column, then the memory starts over


@dataclass
class Columns:
    """The good rows of a chunk: their line numbers, and their values by model attribute
    (each list as long as `lines`); the rejected ones with their reasons."""

    lines: list[int]
    values: dict[str, list[Any]]
    rejected: list[Rejection] = field(default_factory=list)
    resolved: bool = False  # its references are checked
    db: dict[str, list[Any]] | None = None  # the values in the database's form, once converted
    db_dialect: Any = None  # ... for this dialect

    def __len__(self) -> int:
        return len(self.lines)

    def row(self, index: int) -> dict[str, Any]:
        return {attr: column[index] for attr, column in self.values.items()}

    def drop(self, reasons: dict[int, str]) -> None:
        """Reject the rows at these indexes (index -> reason) and leave them out."""
        if not reasons:
            return
        self.rejected.extend(Rejection(self.lines[i], reason) for i, reason in reasons.items())
        keep = [i not in reasons for i in range(len(self.lines))]
        self.lines = list(compress(self.lines, keep))
        self.values = {attr: list(compress(column, keep)) for attr, column in self.values.items()}
        self.db = None


class ColumnParser:
    """One field's parser applied to a whole column of stripped-or-not CSV cells."""

    def __init__(self, fl: Field) -> None:
        self.field = fl
        self.max_length: int | None = getattr(fl.parse, "max_length", None)
        self._cache: dict[str, Any] = {}
        self._bad: set[str] = set()

    def __call__(self, cells: Sequence[str]) -> tuple[list[Any], list[int]]:
        """The column's values, and the indexes of the rows it cannot settle."""
        stripped = list(map(str.strip, cells))
        if self.max_length is not None:
            return self._text(stripped)
        return self._cached(stripped)

    def _text(self, values: list[str]) -> tuple[list[Any], list[int]]:
        limit, fl = self.max_length, self.field
        lengths = list(map(len, values))
        bad: list[int] = []
        if max(lengths, default=0) > limit or "\x00" in "".join(values):  # type: ignore[operator]
            bad = [i for i, value in enumerate(values) if len(value) > limit or "\x00" in value]  # type: ignore[operator]
        if 0 in lengths:
            if fl.required:
                bad += [i for i, n in enumerate(lengths) if not n]
            else:
                default = fl.default
                values = [value if value else default for value in values]
        return values, bad

    def _cached(self, values: list[str]) -> tuple[list[Any], list[int]]:
        cache, fl = self._cache, self.field
        distinct = set(values)
        new = distinct.difference(cache)
        if new:
            if len(cache) + len(new) > CACHE_LIMIT:
                cache.clear()
                self._bad.clear()
                new = distinct
            parse = fl.parse
            for value in new:
                if not value:
                    answer = _BAD if fl.required else fl.default
                else:
                    try:
                        answer = parse(value)
                    except ValueError:
                        answer = _BAD
                if answer is _BAD:
                    self._bad.add(value)
                cache[value] = answer
        parsed = list(map(cache.__getitem__, values))
        if self._bad.isdisjoint(distinct):
            return parsed, []
        return parsed, [i for i, value in enumerate(parsed) if value is _BAD]


class ColumnPlan:
    """How one entity's chunk is parsed column-wise (one per file: it keeps the caches)."""

    def __init__(self, spec: EntitySpec, row_check: RowCheck | None = None,
                 column_check: ColumnCheck | None = None) -> None:
        if spec.consent_gated:
            raise ValueError("consent decides per row which fields are read: parse it row by row")
        if (row_check is None) != (column_check is None):
            raise ValueError("a check across fields needs both forms: by row and by column")
        self.spec = spec
        self.parsers = [(fl, ColumnParser(fl)) for fl in spec.fields]
        self.row_check = row_check
        self.column_check = column_check

    def parse(self, header: Sequence[str], cells: Sequence[Sequence[str]],
              lines: list[int]) -> Columns:
        position = {name: j for j, name in enumerate(header)}  # a repeated name: the last wins
        values: dict[str, list[Any]] = {}
        doubtful: set[int] = set()
        for fl, parser in self.parsers:
            j = position.get(fl.column)
            if j is None:
                continue  # not in the file: the stored value stays
            values[fl.target], bad = parser(cells[j])
            doubtful.update(bad)
        batch = Columns(lines, values)
        if doubtful:
            batch.drop(self._settle(header, cells, batch, sorted(doubtful)))
        if self.column_check is not None and batch.lines:
            failing = self.column_check(batch.values)
            batch.drop({i: self._check_reason(batch.row(i)) for i in failing})
        return batch

    def _settle(self, header: Sequence[str], cells: Sequence[Sequence[str]], batch: Columns,
                rows: list[int]) -> dict[int, str]:
        """The row path's verdict on the doubtful rows: a reason, or (should the column
        path have been too strict) the row's values."""
        reasons: dict[int, str] = {}
        for i in rows:
            record = dict(zip(header, (column[i] for column in cells), strict=True))
            try:
                parsed = self.spec.parse(record)
                if self.row_check is not None:
                    self.row_check(parsed)
            except RecordError as exc:
                reasons[i] = str(exc)
                continue
            for attr, value in parsed.items():
                batch.values[attr][i] = value
        return reasons

    def _check_reason(self, row: dict[str, Any]) -> str:
        try:
            self.row_check(row)  # type: ignore[misc]
        except RecordError as exc:
            return str(exc)
        raise AssertionError("the column check and the row check disagree")  # pragma: no cover


def later_than(first: str, second: str) -> ColumnCheck:
    """A column check: the rows whose `second` value is not after their `first`."""

    def check(values: dict[str, list[Any]]) -> list[int]:
        if first not in values or second not in values:
            return []
        return [i for i, wrong in enumerate(map(le, values[second], values[first])) if wrong]

    return check
