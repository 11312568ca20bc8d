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
import csv
import gc
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from tqdm import tqdm

from storage.db import Database
from storage.ingest.entities import ENTITIES, SPECS
from storage.ingest.pipeline import Ingestor
from storage.ingest.result import IngestResult, Rejection
from storage.ingest.upsert import Item

CSV_CHUNK = 10_000  # rows per transaction: a bot's write waits at most a few tenths of a second
BIG_FILE = 20 * 1024 * 1024  # a progress bar even off a terminal, now and then
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
                        chunk: int = CSV_CHUNK, progress: bool | None = None) -> FolderReport:
    """Import every data file present in `folder`; `progress` None: when it helps."""
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
    return report


async def import_file(database: Database, path: Path, entity: str, *, actor: str,
                      chunk: int = CSV_CHUNK, progress: bool | None = None) -> FileReport:
    """One file, a committed chunk at a time.

    The next chunk is read and parsed in a worker thread while the current one is being
    written: the database does its part of the work (SQLite in its own thread, without
    the GIL) at the same time as Python does its part.
    """
    report = FileReport(path.name)
    size = path.stat().st_size
    ingestor = Ingestor(entity, actor=actor, where="line", whole_tables=size >= WHOLE_TABLES_FROM)
    async with database.unit_of_work() as session:
        ingestor.assume_new = entity != "guardians" and await ingestor.table_is_empty(session)
    chunks = _read_chunks(path, entity, chunk)

    def next_chunk() -> tuple[list[tuple[int, dict[str, str]]], list[Rejection], int, list[Item]] | None:
        got = next(chunks, None)
        return None if got is None else (*got, ingestor.parse(got[0]))

    show = progress if progress is not None else sys.stderr.isatty() or size >= BIG_FILE
    with _no_cyclic_gc(), tqdm(total=size, unit="B", unit_scale=True, desc=path.name,
                               file=sys.stderr, disable=not show, leave=False,
                               mininterval=0.5 if sys.stderr.isatty() else 15) as bar:
        try:
            pending = await asyncio.to_thread(next_chunk)
            while pending is not None:
                rows, rejected, done, items = pending
                following = asyncio.ensure_future(asyncio.to_thread(next_chunk))
                try:
                    result = await _write_chunk(database, ingestor, path.name, rows, items)
                finally:
                    await asyncio.wait([following])  # the reader is never left running
                result.rejected.extend(rejected)
                result.rejected.sort(key=lambda r: r.index)
                report.result.add(result)
                bar.update(done - bar.n)
                pending = following.result()
        except FileRejected as exc:
            report.error = str(exc)
        finally:
            chunks.close()
    return report


async def _write_chunk(database: Database, ingestor: Ingestor, file: str,
                       rows: list[tuple[int, dict[str, str]]], items: list[Item]) -> IngestResult:
    try:
        return await _write_once(database, ingestor, file, rows, items)
    except IntegrityError:
        if not ingestor.assume_new:
            raise
    # The table was empty when the file began, but someone else (the API) has written
    # one of these records since: compare with what is stored from now on.
    ingestor.assume_new = False
    return await _write_once(database, ingestor, file, rows, ingestor.parse(rows))


async def _write_once(database: Database, ingestor: Ingestor, file: str,
                      rows: list[tuple[int, dict[str, str]]], items: list[Item]) -> IngestResult:
    async with database.unit_of_work() as session:
        result = await ingestor.write(session, items)
        await ingestor.audit_batch(session, result, {"file": file, **_span(rows)})
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


def _span(rows: list[tuple[int, Any]]) -> dict[str, Any]:
    return {"lines": [rows[0][0], rows[-1][0]]} if rows else {}


def _read_chunks(
    path: Path, entity: str, chunk: int,
) -> Iterator[tuple[list[tuple[int, dict[str, str]]], list[Rejection], int]]:
    """Chunks of (line, record) with the rows that cannot be records, and bytes read so far."""
    required = SPECS[entity].required_columns
    with path.open("rb") as raw:
        reader = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
        line = 1
        try:
            header = [name.strip().lower() for name in next(reader, [])]
            if not any(header):
                raise FileRejected("1: the file is empty (no header row)")
            missing = [column for column in required if column not in header]
            if missing:
                raise FileRejected(f"1: missing required column{'s' if len(missing) > 1 else ''}: "
                                   f"{', '.join(missing)} (the file is not imported)")
            width = len(header)
            rows: list[tuple[int, dict[str, str]]] = []
            rejected: list[Rejection] = []
            line = reader.line_num + 1
            for cells in reader:
                start, line = line, reader.line_num + 1
                if len(cells) != width:
                    if not any(cell.strip() for cell in cells):
                        continue  # a blank line
                    if len(cells) < width or any(cell.strip() for cell in cells[width:]):
                        rejected.append(Rejection(start, f"has {len(cells)} fields, the header {width}"))
                        continue
                rows.append((start, dict(zip(header, cells))))
                if len(rows) >= chunk:
                    yield rows, rejected, raw.tell()
                    rows, rejected = [], []
            if rows or rejected:
                yield rows, rejected, raw.tell()
        except UnicodeDecodeError:
            raise FileRejected(f"{line}: the file is not UTF-8 text near this line; "
                               "the chunks before it were imported") from None
        except csv.Error as exc:
            raise FileRejected(f"{reader.line_num}: unreadable CSV ({exc})") from None
