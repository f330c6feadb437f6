"""Streaming exports: CSV, XLSX, ODS (one row per response) and the codebook.

Rows are read from the database in chunks and written out as they come; XLSX and ODS
(their sheet XML streamed into the zip by hand) are built in a temporary
file that is then streamed and deleted, so memory stays bounded whatever the row count.
Free text is always masked (emails, phone numbers) and export headers never carry personal data.

The CSV (1.4 million responses at Grand Débat scale) is written by blocks of ``BLOCK_ROWS``
responses: their answer documents are parsed by Arrow's JSON reader into one typed column per
question, and each export column is computed and written vectorised (``consult.csvout``'s
columnar writer), so Python does per-block work, not per-cell work; only free text goes through
the masking one value at a time. A block whose answers do not fit their questions' types (hand-made
data) is written row by row by ``rows``' logic instead: the bytes are the same either way.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from consult import csvout
from consult.text import mask_personal_data, mask_personal_data_column
from surveys import engine
from surveys.models import Questionnaire, SurveyResponse

CHUNK_ROWS = 2_000
BLOCK_ROWS = 2_000  # responses per CSV block: about 7 MB of JSON, bounded memory
FILE_CHUNK = 64 * 1024
FIXED_HEADERS = ["reponse", "envoyee_le", "public", "academie", "par_code"]
FORMATS = {
    "csv": csvout.CONTENT_TYPE,
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def headers(definition: engine.Definition) -> list[str]:
    return FIXED_HEADERS + [name for name, _q, _k in engine.export_columns(definition)]


# Steps of a row, decided once per questionnaire (the per-row loop runs millions of times).
_SCALARS, _MULTIPLE, _RANKING, _FREE_TEXT = range(4)


def _plan(definition: engine.Definition) -> list[tuple[int, Any]]:
    """The questions in column order as steps; consecutive plain questions (one value each)
    become one step read with ``map(answers.get, codes)``. Missing answers are None, which the
    CSV writer writes as an empty cell."""
    plan: list[tuple[int, Any]] = []
    for question in definition.questions:
        if question.type == "multiple":
            plan.append((_MULTIPLE, (question.code, tuple(question.option_values))))
        elif question.type == "ranking":
            plan.append((_RANKING, (question.code, question.max_rank or 0)))
        elif question.is_free_text:
            plan.append((_FREE_TEXT, question.code))
        elif plan and plan[-1][0] == _SCALARS:
            plan[-1][1].append(question.code)
        else:
            plan.append((_SCALARS, [question.code]))
    return plan


def _row(plan: list[tuple[int, Any]], record: tuple) -> list[Any]:
    """One response (id, submitted_at, audience, académie, via_code, answers) as export cells."""
    rid, when, audience, academie, via_code, answers = record
    row: list[Any] = [rid, csvout.iso(when), audience, academie or "", 1 if via_code else 0]
    extend = row.extend
    get = answers.get
    for step, data in plan:
        if step == _SCALARS:
            extend(map(get, data))
        elif step == _MULTIPLE:
            code, options = data
            value = get(code)
            extend([None] * len(options) if value is None else [int(o in value) for o in options])
        elif step == _FREE_TEXT:
            value = get(data)
            row.append(None if value is None else mask_personal_data(value))
        else:
            code, size = data
            value = get(code) or []
            extend(value[:size])
            if len(value) < size:
                extend([None] * (size - len(value)))
    return row


def _query(questionnaire: Questionnaire, answers: Any = SurveyResponse.answers) -> Any:
    return (
        select(
            SurveyResponse.id,
            SurveyResponse.submitted_at,
            SurveyResponse.author_audience,
            SurveyResponse.author_academie_code,
            SurveyResponse.via_code,
            answers,
        )
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .order_by(SurveyResponse.id)
    )


def rows(session: Session, questionnaire: Questionnaire) -> Iterator[list[Any]]:
    """One list per response, in id order, read in chunks from a server-side cursor."""
    plan = _plan(questionnaire.definition)
    result = session.execute(_query(questionnaire).execution_options(yield_per=CHUNK_ROWS))
    for record in result:
        yield _row(plan, tuple(record))


# --- The CSV, by blocks ---------------------------------------------------------------------------


def _arrow_type(question: engine.Question) -> Any:
    import pyarrow as pa

    if question.type in ("multiple", "ranking"):
        return pa.list_(pa.string())
    if question.type in ("scale", "number"):
        return pa.int64()
    return pa.string()


def _parse(documents: list[str], questions: list[engine.Question]) -> Any:
    """The answer documents as an Arrow table, one typed column per question (Arrow's JSON reader,
    C++ and multi-threaded); raises ``pyarrow.ArrowInvalid`` when a value does not fit."""
    import pyarrow as pa
    from pyarrow import json as pajson

    schema = pa.schema([pa.field(q.code, _arrow_type(q)) for q in questions])
    options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
    # JSON text never holds a raw line break: one document per line. One thread: the reader's
    # per-thread buffers cost more memory than the parallelism saves (the database streams the
    # next rows on the other core meanwhile).
    lines = "\n".join(documents).encode()
    return pajson.read_json(
        io.BytesIO(lines), read_options=pajson.ReadOptions(use_threads=False), parse_options=options
    )


_FLAGS = ("0", "1")


def _chosen(column: Any, options: tuple[str, ...]) -> list[Any]:
    """Multiple choice, one written column per option: 1 when the option is among the answer's
    values, 0 when not, empty when the question was not answered."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    flags = pa.array([*_FLAGS, None], pa.string())
    unanswered = pc.is_null(column).to_numpy(zero_copy_only=False)
    flat = pc.dictionary_encode(pc.list_flatten(column))
    parents = pc.list_parent_indices(column).to_numpy()
    codes = flat.indices.to_numpy(zero_copy_only=False)
    known = {value: i for i, value in enumerate(flat.dictionary.to_pylist())}
    written = []
    for option in options:
        states = np.zeros(len(column), dtype=np.int8)
        if option in known:
            states[parents[codes == known[option]]] = 1
        states[unanswered] = 2
        written.append(flags.take(pa.array(states)))
    return written


def _ranked(column: Any, rank: int) -> Any:
    """Ranking: the option at ``rank`` (from 0), empty past the answer's end."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = pc.fill_null(pc.list_value_length(column), 0).to_numpy()
    present = lengths > rank
    if not present.any():
        return pa.nulls(len(column), pa.string())
    starts = column.offsets.to_numpy()[:-1]
    # Past the end: any existing position, blanked just after.
    taken = column.values.take(pa.array(np.where(present, starts + rank, 0)))
    return pc.if_else(pa.array(present), taken, pa.scalar(None, pa.string()))


def _block(
    records: list[tuple], definition: engine.Definition, plan: list, delimiter: str
) -> bytes:
    import pyarrow as pa

    ids, whens, audiences, academies, via_codes, documents = zip(*records, strict=True)
    try:
        table = _parse(list(documents), definition.questions)
    except pa.ArrowInvalid:
        import json

        return b"".join(
            csvout.stream(
                None,
                (_row(plan, (*record[:5], json.loads(record[5]))) for record in records),
                delimiter,
            )
        )
    text, number = csvout.text_column, csvout.number_column
    columns = [
        number(pa.array(ids, pa.int64())),
        csvout.iso_column(pa.array(whens, pa.timestamp("us"))),
        text(pa.array(audiences, pa.string()), delimiter),
        text(pa.array([a or "" for a in academies], pa.string()), delimiter),
        number(pa.array([1 if v else 0 for v in via_codes], pa.int64())),
    ]
    for question in definition.questions:
        column = table.column(question.code).combine_chunks()
        if question.type == "multiple":
            columns.extend(_chosen(column, question.option_values))
        elif question.type == "ranking":
            columns.extend(
                text(_ranked(column, rank), delimiter) for rank in range(question.max_rank or 0)
            )
        elif question.is_free_text:
            columns.append(text(mask_personal_data_column(column), delimiter))
        elif question.type in ("scale", "number"):
            columns.append(number(column))
        else:
            columns.append(text(column, delimiter))
    return csvout.block(columns, delimiter)


def _records(session: Session, questionnaire: Questionnaire) -> Iterator[list[tuple]]:
    """Blocks of ``BLOCK_ROWS`` responses in id order, their answers as JSON text (parsed by
    Arrow, not one by one), from a server-side cursor."""
    query = _query(questionnaire, cast(SurveyResponse.answers, Text))
    result = session.execute(query.execution_options(yield_per=BLOCK_ROWS))
    for partition in result.partitions():
        yield [tuple(record) for record in partition]


def responses_csv(
    session: Session, questionnaire: Questionnaire, delimiter: str = csvout.SEMICOLON
) -> Iterator[bytes]:
    """The responses CSV: the same bytes as ``csv_stream(headers, rows)``, written by blocks."""
    definition = questionnaire.definition
    plan = _plan(definition)
    blocks = (
        _block(records, definition, plan, delimiter) for records in _records(session, questionnaire)
    )
    return csvout.stream_blocks(headers(definition), blocks, delimiter)


def codebook_rows(definition: engine.Definition) -> Iterator[list[Any]]:
    yield [
        "colonne",
        "question",
        "section",
        "publics",
        "type",
        "obligatoire",
        "texte",
        "valeurs",
        "condition",
    ]
    explained = {
        "reponse": "Numéro de la réponse",
        "envoyee_le": "Date et heure d'envoi (UTC)",
        "public": "Public du répondant au moment de répondre",
        "academie": "Code de l'académie du répondant au moment de répondre",
        "par_code": "1 si la réponse a été donnée avec un code d'accès",
    }
    for name, text in explained.items():
        yield [name, "", "", "", "meta", "", text, "", ""]
    for name, q, key in engine.export_columns(definition):
        section = definition.section_of(q.code)
        audiences = ", ".join(section.audiences) if section.audiences else "tous"
        if q.type == "multiple":
            values = f"1 = « {q.option_label(key)} » cochée, 0 = non cochée"
        elif q.type == "ranking":
            values = f"rang {key} : " + " | ".join(f"{o.value} = {o.label}" for o in q.options)
        elif q.options:
            values = " | ".join(f"{o.value} = {o.label}" for o in q.options)
        elif q.type == "scale":
            values = f"1 = {q.min_label} … 5 = {q.max_label}"
        elif q.type == "number":
            values = f"entier de {q.min} à {q.max}"
        else:
            values = "texte libre (adresses et téléphones masqués)"
        conditions = " ET ".join(
            filter(
                None,
                [engine.condition_text(section.condition), engine.condition_text(q.condition)],
            )
        )
        yield [
            name,
            q.code,
            section.title,
            audiences,
            q.type,
            "oui" if q.required else "non",
            q.text,
            values,
            conditions,
        ]


# --- Writers ------------------------------------------------------------------------------------


def csv_stream(
    header: list[str], data: Iterator[list[Any]], delimiter: str = csvout.SEMICOLON
) -> Iterator[bytes]:
    return csvout.stream(header, data, delimiter)


# Characters XML 1.0 forbids; hostile free text could carry them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: Any) -> str:
    return escape(_XML_INVALID.sub("", str(value)))


# --- XLSX: SpreadsheetML written by hand, rows streamed into the zip (openpyxl's write-only
# mode manages ~500 rows/s here, far too slow for a million responses). ---------------------------

_XLSX_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_XLSX_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XLSX_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_XLSX_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _xlsx_parts(titles: list[str]) -> dict[str, str]:
    sheets = range(1, len(titles) + 1)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_XLSX_CT}.worksheet+xml"/>'
        for i in sheets
    )
    relations = "".join(
        f'<Relationship Id="rId{i}" Type="{_XLSX_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in sheets
    )
    return {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_XLSX_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_XLSX_CT}.styles+xml"/>'
            f"{overrides}</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{_XLSX_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_XLSX_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{_XLSX_MAIN}" xmlns:r="{_XLSX_REL}"><sheets>'
            + "".join(
                f'<sheet name="{_xml_text(title)}" sheetId="{i}" r:id="rId{i}"/>'
                for i, title in zip(sheets, titles, strict=True)
            )
            + "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<Relationships xmlns="{_XLSX_PKG_REL}">{relations}'
            f'<Relationship Id="rId{len(titles) + 1}" Type="{_XLSX_REL}/styles" '
            'Target="styles.xml"/></Relationships>'
        ),
        "xl/styles.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<styleSheet xmlns="{_XLSX_MAIN}">'
            '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            '</borders><cellStyleXfs count="1">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"
        ),
    }


def _xlsx_cell(value: Any) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return f"<c><v>{value}</v></c>"
    if value in ("", None):
        return "<c/>"
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(value)}</t></is></c>'


def _xlsx_row(row: list[Any]) -> bytes:
    return ("<row>" + "".join(_xlsx_cell(v) for v in row) + "</row>").encode()


def write_xlsx(path: str, sheets: list[tuple[str, list[str], Iterator[list[Any]]]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in _xlsx_parts([title for title, _h, _d in sheets]).items():
            archive.writestr(name, content)
        for index, (_title, header, data) in enumerate(sheets, 1):
            info = zipfile.ZipInfo(f"xl/worksheets/sheet{index}.xml")
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as content:
                content.write(
                    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                    f'<worksheet xmlns="{_XLSX_MAIN}"><sheetData>'.encode()
                )
                _write_rows(content, header, data, _xlsx_row)
                content.write(b"</sheetData></worksheet>")


def _write_rows(content, header: list[str], data: Iterator[list[Any]], render) -> None:
    content.write(render(header))
    buffer = []
    for count, row in enumerate(data, 1):
        buffer.append(render(row))
        if count % 500 == 0:
            content.write(b"".join(buffer))
            buffer.clear()
    content.write(b"".join(buffer))


_ODS_MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
_ODS_MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">\n'
    f' <manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS_MIMETYPE}"/>\n'
    ' <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>\n'
    "</manifest:manifest>\n"
)
_ODS_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
    "<office:body><office:spreadsheet>"
)
_ODS_TAIL = "</office:spreadsheet></office:body></office:document-content>"


def _ods_cell(value: Any) -> str:
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    if value in ("", None):
        return "<table:table-cell/>"
    text = _xml_text(value)
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def write_ods(path: str, sheets: list[tuple[str, list[str], Iterator[list[Any]]]]) -> None:
    """A minimal OpenDocument spreadsheet; content.xml is streamed into the archive."""
    with zipfile.ZipFile(path, "w") as archive:
        # The mimetype entry must come first and be stored uncompressed (ODF 1.2, §3.3).
        archive.writestr(
            zipfile.ZipInfo("mimetype"),
            _ODS_MIMETYPE,
            compress_type=zipfile.ZIP_STORED,
        )
        archive.writestr("META-INF/manifest.xml", _ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        info = zipfile.ZipInfo("content.xml")
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w", force_zip64=True) as content:
            content.write(_ODS_HEAD.encode())
            for title, header, data in sheets:
                content.write(f'<table:table table:name="{_xml_text(title)}">'.encode())
                _write_rows(content, header, data, _ods_row)
                content.write(b"</table:table>")
            content.write(_ODS_TAIL.encode())


def _ods_row(row: list[Any]) -> bytes:
    return (
        "<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>"
    ).encode()


def file_stream(path: str) -> Iterator[bytes]:
    """Stream a temporary file and remove it afterwards (even if the client goes away)."""
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(FILE_CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def build(
    session: Session, questionnaire: Questionnaire, fmt: str, delimiter: str = csvout.SEMICOLON
) -> Iterator[bytes]:
    """The responses in ``fmt`` as a stream of bytes (the codebook is its own CSV, and a second
    sheet in XLSX/ODS)."""
    definition = questionnaire.definition
    if fmt == "csv":
        return responses_csv(session, questionnaire, delimiter)
    handle, path = tempfile.mkstemp(suffix=f".{fmt}", prefix="consult-export-")
    os.close(handle)
    codebook = codebook_rows(definition)
    sheets = [
        ("reponses", headers(definition), rows(session, questionnaire)),
        ("codebook", next(codebook), codebook),
    ]
    try:
        (write_xlsx if fmt == "xlsx" else write_ods)(path, sheets)
    except BaseException:
        os.unlink(path)
        raise
    return file_stream(path)


def codebook_csv(
    definition: engine.Definition, delimiter: str = csvout.SEMICOLON
) -> Iterator[bytes]:
    data = codebook_rows(definition)
    return csv_stream(next(data), data, delimiter)
