"""`python run_bot.py import FOLDER`: the data contract's CSV files, through `Ingestor`.

Files are taken in dependency order (schools first, events last); any subset may be
present. Each file is read in chunks, and each chunk is one transaction (its rows and
its `import.batch` audit entry), so a large import never holds the database for long
and can run beside the bot, SQLite included. A bad row is reported as `file:line:
reason` (line numbers as an editor shows them, the header being line 1) and never
stops the good ones; a file without a required column is rejected whole.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import gc
import io
import sys
from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress, islice, repeat
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.exc import IntegrityError
from tqdm import tqdm

from school_bot.storage.db import Database
from school_bot.storage.ingest.columns import Columns
from school_bot.storage.ingest.entities import ENTITIES, SPECS
from school_bot.storage.ingest.pipeline import Ingestor
from school_bot.storage.ingest.result import IngestResult, Rejection
from school_bot.storage.ingest.sql import wal_autocheckpoint
from school_bot.storage.ingest.upsert import Item

CSV_CHUNK = 20_000  # rows per transaction: a bot's write waits at most a few tenths of a second
SWITCH_INTERVAL = 0.0002  # seconds; see _prompt_threads
BIG_FILE = 20 * 1024 * 1024  # a progress bar even off a terminal, now and then; fewer WAL checkpoints
WAL_PAGES = 10_000  # SQLite: a big file's chunks are checkpointed every 40 MB of WAL, not every 4 MB
WHOLE_TABLES_FROM = 5 * 1024 * 1024  # a file this big reads referenced tables whole


@dataclass
class FileReport:
    file: str
    result: IngestResult = field(default_factory=IngestResult)
    error: str | None = None  # the whole file was rejected

    def problems(self) -> list[str]:
        lines = [f"{self.file}:{self.error}"] if self.error else []
        return lines + [f"{self.file}:{r.index}: {r.reason}" for r in self.result.rejected]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.result.rejected


@dataclass
class FolderReport:
    folder: Path
    files: list[FileReport] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # *.csv files that are not ours

    @property
    def total(self) -> IngestResult:
        total = IngestResult()
        for report in self.files:
            total.add(report.result)
        return total

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.files)

    def problems(self) -> list[str]:
        return [line for report in self.files for line in report.problems()]


class FileRejected(Exception):
    """The file cannot be read as the entity's CSV (the message names the line)."""


async def import_folder(database: Database, folder: str | Path, *, actor: str,
                        chunk: int = CSV_CHUNK, progress: bool | None = None,
                        after_file: Callable[[FileReport], Awaitable[None]] | None = None,
                        ) -> FolderReport:
    """Import every data file present in `folder`; `progress` None: when it helps.
    `after_file` is awaited after each file, its chunks committed (the command line
    tells the workers there is something to scan)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"{folder} is not a folder")
    report = FolderReport(folder)
    known = {f"{entity}.csv" for entity in ENTITIES}
    report.ignored = sorted(p.name for p in folder.glob("*.csv") if p.name not in known)
    for entity in ENTITIES:
        path = folder / f"{entity}.csv"
        if path.is_file():
            report.files.append(await import_file(database, path, entity, actor=actor,
                                                  chunk=chunk, progress=progress))
            if after_file is not None:
                await after_file(report.files[-1])
    return report


async def import_file(database: Database, path: Path, entity: str, *, actor: str,
                      chunk: int = CSV_CHUNK, progress: bool | None = None) -> FileReport:
    """One file, a committed chunk at a time.

    The next chunk is read and parsed in a worker thread while the current one is being
    written: the database does its part of the work (SQLite in its own thread, without
    the GIL) at the same time as Python does its part.
    """
    report = FileReport(path.name)
    size = (await asyncio.to_thread(path.stat)).st_size
    ingestor = Ingestor(entity, actor=actor, where="line", whole_tables=size >= WHOLE_TABLES_FROM)
    async with database.unit_of_work() as session:
        ingestor.assume_new = entity != "guardians" and await ingestor.table_is_empty(session)
        await ingestor.preload(session)
        checkpoints = await wal_autocheckpoint(session, WAL_PAGES if size >= BIG_FILE else None)
    chunks = _read_chunks(path, entity, chunk)
    dialect = database.engine.dialect

    def next_chunk() -> tuple[Chunk, Parsed] | None:
        got = next(chunks, None)
        if got is None:
            return None
        parsed = _parse(ingestor, got)
        if isinstance(parsed, Columns):
            ingestor.prepare_columns(parsed, dialect)
        return got, parsed

    show = progress if progress is not None else sys.stderr.isatty() or size >= BIG_FILE
    with _no_cyclic_gc(), _prompt_threads(), tqdm(total=size, unit="B", unit_scale=True, desc=path.name,
                               file=sys.stderr, disable=not show, leave=False,
                               mininterval=0.5 if sys.stderr.isatty() else 15) as bar:
        try:
            pending = await asyncio.to_thread(next_chunk)
            while pending is not None:
                rows, parsed = pending
                following = asyncio.ensure_future(asyncio.to_thread(next_chunk))
                try:
                    result = await _write_chunk(database, ingestor, path.name, rows, parsed)
                finally:
                    await asyncio.wait([following])  # the reader is never left running
                result.rejected.extend(rows.rejected)
                result.rejected.sort(key=lambda r: r.index)
                report.result.add(result)
                bar.update(rows.done - bar.n)
                pending = following.result()
        except FileRejected as exc:
            report.error = str(exc)
        finally:
            chunks.close()
            if checkpoints is not None:
                async with database.unit_of_work() as session:
                    await wal_autocheckpoint(session, checkpoints)
    return report


Parsed = Columns | list[Item]


def _parse(ingestor: Ingestor, rows: Chunk) -> Parsed:
    if ingestor.columnar:
        return ingestor.parse_columns(rows.header, rows.cells, rows.lines)
    return ingestor.parse(rows.records())


async def _write_chunk(database: Database, ingestor: Ingestor, file: str, rows: Chunk,
                       parsed: Parsed) -> IngestResult:
    try:
        return await _write_once(database, ingestor, file, rows, parsed)
    except IntegrityError:
        if not ingestor.assume_new:
            raise
    # The table was empty when the file began, but someone else (the API) has written
    # one of these records since: compare with what is stored from now on.
    ingestor.assume_new = False
    return await _write_once(database, ingestor, file, rows, _parse(ingestor, rows))


async def _write_once(database: Database, ingestor: Ingestor, file: str, rows: Chunk,
                      parsed: Parsed) -> IngestResult:
    async with database.unit_of_work() as session:
        if isinstance(parsed, Columns):
            result = await ingestor.write_columns(session, parsed)
        else:
            result = await ingestor.write(session, parsed)
        await ingestor.audit_batch(session, result, {"file": file, **_span(rows.lines)})
    return result


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """A big file allocates millions of small, acyclic objects that the cyclic collector
    would otherwise re-scan over and over; reference counting frees them all the same."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _prompt_threads() -> Iterator[None]:
    """Three threads share the GIL during an import: the reader parsing the next chunk
    (pure Python), the event loop, and the database driver's thread, which wants the
    GIL back for a moment after each statement (SQLite runs without it). With the
    default switch interval a thread waiting for the GIL waits up to 5 ms, several
    times per chunk; a shorter one hands it over promptly. Restored afterwards."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def _span(lines: list[int]) -> dict[str, Any]:
    return {"lines": [lines[0], lines[-1]]} if lines else {}


@dataclass
class Chunk:
    """Rows of a CSV file, a list of cells per header column (one cell per row)."""

    header: list[str]
    lines: list[int]  # each row's line, as an editor shows it
    cells: list[list[str]]
    rejected: list[Rejection]  # rows that cannot be records (a wrong number of fields)
    done: int  # bytes read so far

    def records(self) -> list[tuple[int, dict[str, str]]]:
        header = self.header
        rows = zip(*self.cells, strict=False)
        return [(line, dict(zip(header, row, strict=False)))
                for line, row in zip(self.lines, rows, strict=False)]


def _read_chunks(path: Path, entity: str, chunk: int) -> Generator[Chunk, None, None]:
    """The file's rows, `chunk` lines at a time, with the rows that cannot be records."""
    required = SPECS[entity].required_columns
    with path.open("rb") as raw:
        reader = _CsvReader(raw)
        header_rows = reader.slow(reader.next_lines(1))
        cells = header_rows[0][1] if header_rows else []
        header = [name.strip().lower() for name in cells]
        if not any(header):
            raise FileRejected("1: the file is empty (no header row)")
        missing = [column for column in required if column not in header]
        if missing:
            raise FileRejected(f"1: missing required column{'s' if len(missing) > 1 else ''}: "
                               f"{', '.join(missing)} (the file is not imported)")
        width = len(header)
        pending: Any = header_rows[1:]  # an old Mac file's one "line" holds them all
        while True:
            if pending:
                lines, columns, rejected = _fit(pending, width)
                pending = None
            else:
                got = reader.next_lines(chunk)
                if not got:
                    break
                fast = reader.fast(got, width)
                if fast is None:
                    lines, columns, rejected = _fit(reader.slow(got), width)
                else:
                    lines, columns, rejected = fast
            if lines or rejected:
                yield Chunk(header, lines, columns, rejected, raw.tell())


def _fit(records: list[tuple[int, list[str]]], width: int
         ) -> tuple[list[int], list[list[str]], list[Rejection]]:
    """Rows of the header's width (longer ones if the extra cells are blank); blank lines
    are skipped, other rows rejected."""
    lines: list[int] = []
    rows: list[list[str]] = []
    rejected: list[Rejection] = []
    for start, cells in records:
        if len(cells) != width:
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) < width or any(cell.strip() for cell in cells[width:]):
                rejected.append(Rejection(start, f"has {len(cells)} fields, the header {width}"))
                continue
            cells = cells[:width]
        lines.append(start)
        rows.append(cells)
    return lines, [list(map(itemgetter(j), rows)) for j in range(width)], rejected


class _CsvReader:
    """CSV records off a binary file, a batch of lines at a time.

    A school system's export rarely quotes a field and never breaks one across lines:
    then a line is a record and a comma a separator, and a batch is split with
    `str.split` (several times faster than the csv module, whose rules give the same
    cells for such text); a line with quotes is read by the csv module on its own.
    A batch with a record that spans lines (or a lone carriage return) goes through
    one `csv.reader`, which reads on past the batch to finish a quoted field.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.line = 1  # the next line's number, as the csv module counts lines
        self._bom = True

    def next_lines(self, count: int) -> list[bytes]:
        return list(islice(self.raw, count))

    def _decode(self, data: bytes) -> str:
        if self._bom:
            self._bom = False
            data = data.removeprefix(codecs.BOM_UTF8)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            near = self.line + data[:exc.start].count(b"\n")
            raise FileRejected(f"{near}: the file is not UTF-8 text near this line; "
                               "the chunks before it were imported") from None

    def fast(self, lines: list[bytes], width: int
             ) -> tuple[list[int], list[list[str]], list[Rejection]] | None:
        """The batch as (line numbers, columns, rejected rows) if every record in it is
        one line; None: ask `slow`."""
        if max(map(len, lines)) > _FIELD_LIMIT:
            return None
        text = self._decode(b"".join(lines))
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if "\r" in text:
                return None
        body = text.removesuffix("\n")
        parts = body.split("\n")
        if len(parts) != len(lines):  # pragma: no cover - a line is what ends in a newline
            return None
        first = self.line
        numbers = list(range(first, first + len(parts)))
        commas = width - 1
        counts = list(map(str.count, parts, repeat(",")))
        if '"' not in text and width > 1 and counts.count(commas) == len(parts):
            self.line += len(parts)
            flat = body.replace("\n", ",").split(",")
            return numbers, [flat[j::width] for j in range(width)], []
        # A few lines are not plain (quotes, a blank line, a wrong number of fields):
        # the plain ones are split together, the others one by one, in the file's order.
        quoted = '"' in text
        odd = [i for i, (part, count) in enumerate(zip(parts, counts, strict=True))
               if count != commas or not part or (quoted and '"' in part)]
        records: list[tuple[int, list[str]]] = []
        for i in odd:
            part = parts[i]
            cells = _quoted_line(part) if '"' in part else part.split(",") if part else []
            if cells is None:
                return None
            records.append((numbers[i], cells))
        keep = [True] * len(parts)
        for i in odd:
            keep[i] = False
        plain = list(compress(parts, keep))
        plain_numbers = list(compress(numbers, keep))
        flat = ",".join(plain).split(",") if plain else []
        plain_columns = [flat[j::width] for j in range(width)]
        extra_lines, extra_columns, rejected = _fit(records, width)
        # Put the odd rows that are records back among the plain ones, in the file's order.
        taken = set(extra_lines)
        out_numbers: list[int] = []
        columns: list[list[str]] = [[] for _ in range(width)]
        done = placed = 0  # plain rows copied; odd rows put back
        for rank, (i, (line, _)) in enumerate(zip(odd, records, strict=True)):
            if line not in taken:
                continue
            upto = i - rank  # the plain rows before this one
            out_numbers += plain_numbers[done:upto]
            out_numbers.append(line)
            for column, plain_column, extra in zip(columns, plain_columns, extra_columns, strict=True):
                column += plain_column[done:upto]
                column.append(extra[placed])
            done = upto
            placed += 1
        out_numbers += plain_numbers[done:]
        for column, plain_column in zip(columns, plain_columns, strict=True):
            column += plain_column[done:]
        self.line += len(parts)
        return out_numbers, columns, rejected

    def slow(self, lines: list[bytes]) -> list[tuple[int, list[str]]]:
        """The batch's records by the csv module's rules, and the rest of a quoted field
        that goes on past the batch."""
        text = self._decode(b"".join(lines))
        pieces = io.StringIO(text, newline="").readlines()
        consumed = 0

        def feed() -> Iterator[str]:
            nonlocal consumed
            for piece in pieces:
                consumed += 1
                yield piece
            while more := self.raw.readline():  # the record goes on
                for piece in io.StringIO(self._decode(more), newline="").readlines():
                    consumed += 1
                    yield piece

        first = self.line
        reader = csv.reader(feed())
        records: list[tuple[int, list[str]]] = []
        start = first
        try:
            for cells in reader:
                records.append((start, cells))
                start = first + reader.line_num
                if consumed >= len(pieces):
                    break
        except csv.Error as exc:
            raise FileRejected(f"{first - 1 + reader.line_num}: unreadable CSV ({exc})") from None
        finally:
            self.line = first + reader.line_num
        return records


def _quoted_line(line: str) -> list[str] | None:
    """The cells of one line with quotes, if it is a whole record by itself (else None).

    `strict` only adds errors (a field that runs past the end of the line among them);
    where it accepts a line, its cells are the ones the lenient reader gives.
    """
    reader = csv.reader((line,), strict=True)
    try:
        cells = next(reader)
    except (csv.Error, StopIteration):
        return None
    return cells if reader.line_num == 1 else None


_FIELD_LIMIT = csv.field_size_limit()  # a longer line goes to the csv module, which refuses it
