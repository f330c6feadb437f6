"""The one CSV writer of every export (questionnaire responses and codebook, Retex sheets,
synthesis tables, published results tables).

Conventions, the same in every file:
- « ; » separated with a UTF-8 byte-order mark by default: French spreadsheet software reads
  accents and columns correctly only then; ``?sep=comma`` gives « , » without BOM for scripts;
- a text cell starting with ``= + - @``, a tab or a carriage return gets a leading apostrophe,
  so a spreadsheet never runs it as a formula (OWASP "CSV injection");
- dates and times in ISO 8601 with their offset, always UTC (``2020-11-02T09:30:00+00:00``):
  the database stores UTC, and one fixed offset keeps files comparable across the DST change;
- codes stay text (académie « 01 » is written ``01``): callers pass them as ``str``, never int;
- a figure hidden by disclosure control is written ``SUPPRESSED_TEXT``, nothing else;
- served as ``text/csv; charset=utf-8``, streamed in chunks so memory stays bounded.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from flask import Response, stream_with_context

CONTENT_TYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"
SEMICOLON = ";"
COMMA = ","
# How a figure hidden by disclosure control reads in every file (CSV, XLSX, ODS) and on every
# page: one neutral marker, whatever the hidden figure counts (« < 10 » was false on a share, on a
# number of votes cast by fewer than 10 people, or on Retex sheets).
SUPPRESSED_TEXT = "secret statistique"
# A spreadsheet opening the file would run a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FLUSH_ROWS = 500


def separator(args: Mapping[str, str]) -> str:
    """The delimiter a download asks for: ``sep=comma`` (or ``,``) → « , », else « ; »."""
    return COMMA if args.get("sep", "") in {"comma", ","} else SEMICOLON


def iso(value: dt.datetime | dt.date | None) -> str:
    """ISO 8601; a datetime always with its offset, in UTC (naive values are stored UTC)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat()
    return value.isoformat()


def cell(value: Any) -> Any:
    """One value as written: formula guard on text, ISO dates, lists joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_PREFIXES) else value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.date):
        return iso(value)
    if isinstance(value, list | tuple):
        return cell(", ".join("" if v is None else str(v) for v in value))
    return value


# Written as they are (None as an empty cell, as ``cell`` would): the common case of the hot
# loop, checked inline (a function call per value costs more than the check).
_AS_IS = frozenset({int, float, type(None)})


def stream(
    header: Iterable[str], rows: Iterable[Iterable[Any]], sep: str = SEMICOLON
) -> Iterator[bytes]:
    """The file as UTF-8 chunks, flushed every ``FLUSH_ROWS`` rows (bounded memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    if sep == SEMICOLON:
        # Sent before the first query runs: the download starts at once.
        yield BOM.encode()
    writer.writerow([cell(h) for h in header])
    as_is = _AS_IS
    for count, row in enumerate(rows, 1):
        # Text that cannot be read as a formula is written as it is too, checked inline.
        writer.writerow(
            [
                v
                if v.__class__ in as_is
                or (v.__class__ is str and not v.startswith(FORMULA_PREFIXES))
                else cell(v)
                for v in row
            ]
        )
        if count % FLUSH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def restream(path: str | Path, sep: str) -> Iterator[bytes]:
    """A file that ``stream`` wrote with « ; » (cached exports), given with another delimiter.
    Its cells were guarded when written, so they are copied as they are (guarding them again
    would turn a written ``-3`` into text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    if sep == SEMICOLON:
        yield BOM.encode()
    with open(path, encoding="utf-8-sig", newline="") as source:
        for count, row in enumerate(csv.reader(source, delimiter=SEMICOLON), 1):
            writer.writerow(row)
            if count % FLUSH_ROWS == 0:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def response(chunks: Iterable[bytes], filename: str, **headers: str) -> Response:
    """A streamed download with the one content type and an attachment name."""
    result = Response(stream_with_context(chunks), mimetype=CONTENT_TYPE)
    result.headers["Content-Type"] = CONTENT_TYPE
    result.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    for name, value in headers.items():
        result.headers[name.replace("_", "-")] = value
    return result
