"""The data contract's way in (shared/docs/data-format.md): one validation-and-upsert
path for the CSV folder import and the HTTP ingest API.

`ingest(session, entity, records, actor=..., school_scope=...)` takes records as dicts
of the CSV's column names (strings or JSON values) and returns the counts and the
rejected records' reasons; `import_folder(database, folder, actor=...)` feeds a folder
of CSV files through the same path, a committed chunk at a time.
"""

from school_bot.storage.ingest.csv_folder import FileReport, FolderReport, import_file, import_folder
from school_bot.storage.ingest.entities import ENTITIES, SPECS, EntitySpec
from school_bot.storage.ingest.pipeline import Ingestor, ingest
from school_bot.storage.ingest.result import ForeignSchoolRecord, IngestResult, Rejection, Written

__all__ = [
    "ENTITIES",
    "SPECS",
    "EntitySpec",
    "FileReport",
    "FolderReport",
    "ForeignSchoolRecord",
    "IngestResult",
    "Ingestor",
    "Rejection",
    "Written",
    "import_file",
    "import_folder",
    "ingest",
]
