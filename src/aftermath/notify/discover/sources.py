"""Sources: what ``--source`` names, split into independent work units, and the readers for each kind.

A source is a database URL (``postgresql://...``, ``sqlite:///path.db``, optionally ``#table``), a CSV,
JSON-lines or XLSX file, or a folder of those (SQLite files found in a folder are read too). A work unit
is one table or file, or a range of rows of a large table, so that units can run in parallel.
Readers yield chunks of rows as text; ``None`` becomes "" and bytes become a size marker.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from aftermath.errors import AftermathError, IntegrityError, UsageError
from aftermath.notify.discover import sql
from aftermath.notify.discover.files import Files

CHUNK = 5000
FILE_KINDS = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
              ".xlsx": "xlsx", ".db": "sqlite", ".sqlite": "sqlite", ".sqlite3": "sqlite"}


@dataclass(frozen=True)
class Unit:
    """One independent piece of work: a table or file, or rows [start, stop) of a table."""

    source: str      # the source as shown to people (passwords removed)
    kind: str        # sql | sqlite | csv | jsonl | xlsx
    locator: str     # database URL or file path
    table: str = ""  # table name (sql, sqlite) or sheet ("" for the whole file)
    start: int = 0
    stop: int | None = None
    found: bool = False  # found in a folder: a file that cannot be read is skipped, not the end of the scan

    @property
    def where(self) -> str:
        """Source and table, for reports."""
        return f"{self.source}" + (f" / {self.table}" if self.table else "")


@dataclass
class Chunk:
    """Rows of one table as text, with the number a person would look for (spreadsheet row, line, position)."""

    columns: list[str]
    rows: list[list[str]]
    numbers: list[int]
    table: str = ""


def text(value: Any) -> str:
    """A cell as text."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<{len(value)} bytes>" if len(value) else ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a ZIP or CVV stored as a number: 2134.0 -> 2134 (reported if zeros were lost)
    return value if isinstance(value, str) else str(value)


def sheet_text(value: Any) -> str:
    """A spreadsheet cell as text. A spreadsheet keeps 15 significant digits: a whole number of 16 or more
    digits stored as a number and ending in 0 (a card number after Excel) has lost its last digits; it is
    shown as the spreadsheet showed it (``5.54563E+15``) so that it is reported as damaged, not dropped."""
    if (isinstance(value, int | float) and abs(value) >= 1e15 and float(value).is_integer()
            and int(value) % 10 == 0):
        return f"{float(value):.5E}".replace("E+0", "E+")
    return text(value)


# A file in a folder that cannot be read is listed as skipped with its reason and the scan goes on; a
# damaged repository (integrity) or an interruption still stops it.
SKIPPABLE: tuple[type[BaseException], ...] = (AftermathError, OSError, UnicodeDecodeError)


def skippable(exc: BaseException) -> bool:
    """Whether a failure to read one file found in a folder only skips that file."""
    return isinstance(exc, SKIPPABLE) and not isinstance(exc, IntegrityError) and getattr(exc, "exit_code", 0) != 130


def reason(exc: BaseException) -> str:
    """The one-line reason a file was skipped."""
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    if isinstance(exc, OSError):
        return f"cannot read it: {exc.strerror or exc}"
    return str(exc)


def plan(spec: str, files: Files, split_rows: int = 0) -> tuple[list[Unit], list[tuple[str, str]]]:
    """Units for one ``--source``, and the files of a folder skipped, each with why (unsupported kind,
    not a regular file, not readable)."""
    base, _, table = spec.partition("#")
    if "://" in base:
        return sql.units(base, table, split_rows, Unit), []
    kind = files.kind(base)
    if kind == "":
        raise UsageError(f"source {base} does not exist in {files.label}: check the path")
    paths = list(files.walk(base)) if kind == "dir" else [base]
    found = kind == "dir"
    units: list[Unit] = []
    skipped: list[tuple[str, str]] = []
    for path in paths:
        file_kind = FILE_KINDS.get(PurePosixPath(path).suffix.lower())
        if file_kind is None:
            skipped.append((path, "not a CSV, JSON lines, XLSX or SQLite file"))
        elif found and files.kind(path) != "file":
            skipped.append((path, "not a regular file (a pipe, device or broken link)"))
        elif file_kind == "sqlite":
            try:
                units.extend(sql.sqlite_units(path, files, table, split_rows, partial(Unit, found=found)))
            except Exception as exc:
                if not (found and skippable(exc)):
                    raise
                skipped.append((path, reason(exc)))
        else:
            units.append(Unit(path, file_kind, path, table, found=found))
    return units, skipped


def read(unit: Unit, files: Files, skipped: list[tuple[int, str]]) -> Iterator[Chunk]:
    """The unit's rows, chunk by chunk; rows that cannot be used are added to ``skipped``."""
    if unit.kind == "sql":
        yield from sql.read_url(unit.locator, unit.table, unit.start, unit.stop)
    elif unit.kind == "sqlite":
        with files.local(unit.locator) as path:
            yield from sql.read_sqlite(str(path), unit.table, unit.start, unit.stop)
    elif unit.kind == "csv":
        yield from _csv(unit.locator, files, skipped)
    elif unit.kind == "jsonl":
        yield from _jsonl(unit.locator, files, skipped)
    else:
        yield from _xlsx(unit.locator, files, unit.table)


def _csv(path: str, files: Files, skipped: list[tuple[int, str]]) -> Iterator[Chunk]:
    with files.open(path) as raw:
        stream = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        dialect = "excel-tab" if path.lower().endswith(".tsv") else "excel"
        reader = csv.reader(stream, dialect, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                return
            rows: list[list[str]] = []
            numbers: list[int] = []
            for n, row in enumerate(reader, start=2):
                if len(row) != len(header):
                    if any(row):
                        skipped.append((n, f"has {len(row)} fields, the header has {len(header)}"))
                    continue
                rows.append(row)
                numbers.append(n)
                if len(rows) >= CHUNK:
                    yield Chunk(header, rows, numbers)
                    rows, numbers = [], []
            if rows:
                yield Chunk(header, rows, numbers)
        except csv.Error as exc:
            raise UsageError(f"{path}: line {reader.line_num}: not valid CSV ({exc}): fix or export it again") from exc
        except UnicodeDecodeError as exc:
            raise UsageError(f"{path} is not UTF-8 text: save it as UTF-8 CSV") from exc


def _flatten(value: Any, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}[{i}]", out)
    elif isinstance(value, list):
        out[prefix] = " ".join(text(v) for v in value)
    else:
        out[prefix] = text(value)


def _jsonl(path: str, files: Files, skipped: list[tuple[int, str]]) -> Iterator[Chunk]:
    records: list[dict[str, str]] = []
    numbers: list[int] = []
    with files.open(path) as raw:
        lines = enumerate(io.TextIOWrapper(raw, encoding="utf-8-sig"), start=1)
        while True:
            try:
                n, line = next(lines, (0, ""))
            except UnicodeDecodeError as exc:
                raise UsageError(f"{path} is not UTF-8 text: save it as UTF-8") from exc
            if not n:
                break
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{path}: line {n}: not valid JSON ({exc.msg}): one JSON object per line") from exc
            if not isinstance(value, dict):
                skipped.append((n, "not a JSON object"))
                continue
            flat: dict[str, str] = {}
            _flatten(value, "", flat)
            records.append(flat)
            numbers.append(n)
            if len(records) >= CHUNK:
                yield _records_chunk(records, numbers)
                records, numbers = [], []
    if records:
        yield _records_chunk(records, numbers)


def _records_chunk(records: list[dict[str, str]], numbers: list[int]) -> Chunk:
    columns = list(dict.fromkeys(k for r in records for k in r))
    return Chunk(columns, [[r.get(c, "") for c in columns] for r in records], numbers)


def _xlsx(path: str, files: Files, sheet: str) -> Iterator[Chunk]:
    import openpyxl  # noqa: PLC0415 - slow to import, needed only for spreadsheets
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    with files.local(path) as local:
        try:
            book = openpyxl.load_workbook(local, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
            raise UsageError(f"{path} is not a readable XLSX workbook ({exc.__class__.__name__}): "
                             "open and save it again in a spreadsheet program") from exc
        try:
            for ws in book.worksheets:
                if sheet and ws.title != sheet:
                    continue
                yield from _sheet(ws, path)
        finally:
            book.close()


def _sheet(ws: Any, path: str) -> Iterator[Chunk]:
    rows_iter = ws.iter_rows(values_only=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    numbers: list[int] = []
    try:
        for n, values in enumerate(rows_iter, start=1):
            cells = [sheet_text(v) for v in values]
            if header is None:
                if any(cells):
                    header = [c or f"column{i + 1}" for i, c in enumerate(cells)]
                continue
            if not any(cells):
                continue
            rows.append((cells + [""] * len(header))[:len(header)])
            numbers.append(n)
            if len(rows) >= CHUNK:
                yield Chunk(header, rows, numbers, ws.title)
                rows, numbers = [], []
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise UsageError(f"{path}: sheet {ws.title!r} is damaged ({exc.__class__.__name__})") from exc
    if rows and header is not None:
        yield Chunk(header, rows, numbers, ws.title)
