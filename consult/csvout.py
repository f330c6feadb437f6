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

Two writers give the same bytes: ``stream`` (rows of Python values, through the ``csv`` module)
and, for files of millions of rows, ``stream_blocks`` with ``text_column``/``block`` (Arrow
columns: the formula guard, the quoting and the line joins run vectorised in Arrow's C++, a
block of thousands of rows at a time). ``tests/test_csvout.py`` holds them to the same output.
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
    header: Iterable[str] | None, rows: Iterable[Iterable[Any]], sep: str = SEMICOLON
) -> Iterator[bytes]:
    """The file as UTF-8 chunks, flushed every ``FLUSH_ROWS`` rows (bounded memory).
    ``header=None``: the rows only, without byte-order mark (a part of a file)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    if header is not None:
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


# --- The columnar writer -------------------------------------------------------------------------


def _re2(chars: Iterable[str]) -> str:
    """A character class matching any of ``chars`` in RE2 (Arrow's regular expressions)."""
    named = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
    return "[" + "".join(named.get(c, c if c.isalnum() else "\\" + c) for c in chars) + "]"


def text_column(values: Any, sep: str = SEMICOLON) -> Any:
    """An Arrow string array as ``stream`` writes its cells: formula guard, then quotes around a
    cell holding the separator, a quote or a line break (inner quotes doubled); null → empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = values.cast(pa.string())
    special = _re2((sep, '"', "\r", "\n"))
    formula = "^" + _re2(FORMULA_PREFIXES)
    # Most columns (codes, options) need neither: one pass tells.
    if not pc.any(pc.match_substring_regex(values, f"{formula}|{special}")).as_py():
        return values
    guarded = pc.match_substring_regex(values, formula)
    values = pc.if_else(guarded, pc.binary_join_element_wise("'", values, ""), values)
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(values, special), quoted, values)


def iso_column(values: Any) -> Any:
    """``iso`` over an Arrow array of naive UTC timestamps (whole seconds, « +00:00 »)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    seconds = pc.floor_temporal(values.cast(pa.timestamp("us")), unit="second")
    return pc.strftime(seconds.cast(pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S+00:00")


def number_column(values: Any) -> Any:
    """Integers (nulls allowed) as ``stream`` writes them."""
    import pyarrow as pa

    return values.cast(pa.string())


def block(columns: list[Any], sep: str = SEMICOLON) -> bytes:
    """Rows of already written cells (``text_column``/``number_column``), one per line, UTF-8."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not columns or not len(columns[0]):
        return b""
    lines = pc.binary_join_element_wise(*columns, sep, null_handling="replace", null_replacement="")
    # "line" + "" joined by CRLF: each line ends with the terminator ``stream`` writes.
    lines = pc.binary_join_element_wise(lines, pa.scalar(""), "\r\n")
    # The string data buffer holds the lines back to back: the block as it is, no copy per row.
    offsets = lines.buffers()[1]
    first, last = (
        int.from_bytes(offsets[4 * i : 4 * i + 4], "little", signed=True)
        for i in (lines.offset, lines.offset + len(lines))
    )
    return lines.buffers()[2].to_pybytes()[first:last]


def stream_blocks(
    header: Iterable[str], blocks: Iterable[bytes], sep: str = SEMICOLON
) -> Iterator[bytes]:
    """The file from blocks of rows written by ``block``: BOM and header as ``stream`` writes
    them, then each block as it comes (bounded memory)."""
    if sep == SEMICOLON:
        # Sent before the first query runs, as ``stream`` does: the download starts at once.
        yield BOM.encode()
    head = io.StringIO()
    csv.writer(head, delimiter=sep, lineterminator="\r\n").writerow([cell(h) for h in header])
    yield head.getvalue().encode("utf-8")
    yield from blocks


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
