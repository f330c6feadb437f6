"""Streaming exports: CSV, XLSX, ODS (one row per response) and the codebook.

Rows are read from the database in chunks and written out as they come; XLSX (openpyxl's
write-only mode) and ODS (content.xml streamed into the zip by hand) are built in a temporary
file that is then streamed and deleted, so memory stays bounded whatever the row count.
Free text is always masked (emails, phone numbers) and export headers never carry personal data.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.text import mask_personal_data
from surveys import engine
from surveys.models import Questionnaire, SurveyResponse

CHUNK_ROWS = 2_000
FILE_CHUNK = 64 * 1024
FIXED_HEADERS = ["reponse", "envoyee_le", "public", "academie", "par_code"]
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
}


def headers(definition: engine.Definition) -> list[str]:
    return FIXED_HEADERS + [name for name, _q, _k in engine.export_columns(definition)]


def rows(session: Session, questionnaire: Questionnaire) -> Iterator[list[Any]]:
    """One list per response, in id order, read in chunks."""
    columns = engine.export_columns(questionnaire.definition)
    result = session.execute(
        select(
            SurveyResponse.id,
            SurveyResponse.submitted_at,
            SurveyResponse.author_audience,
            SurveyResponse.author_academie_code,
            SurveyResponse.via_code,
            SurveyResponse.answers,
        )
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .order_by(SurveyResponse.id)
        .execution_options(yield_per=CHUNK_ROWS)
    )
    for rid, when, audience, academie, via_code, answers in result:
        row: list[Any] = [
            rid,
            when.strftime("%Y-%m-%d %H:%M:%S"),
            audience,
            academie or "",
            int(bool(via_code)),
        ]
        for _name, question, key in columns:
            value = answers.get(question.code)
            if value is None:
                row.append("")
            elif question.type == "multiple":
                row.append(int(key in value))
            elif question.type == "ranking":
                row.append(value[key - 1] if len(value) >= key else "")
            elif question.is_free_text:
                row.append(mask_personal_data(value))
            else:
                row.append(value)
        yield row


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
    header: list[str], data: Iterator[list[Any]], delimiter: str = ","
) -> Iterator[bytes]:
    """UTF-8 with BOM (spreadsheets then read accents correctly), flushed every few rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    yield "\ufeff".encode()
    writer.writerow(header)
    for count, row in enumerate(data, 1):
        writer.writerow(row)
        if count % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def write_xlsx(path: str, sheets: list[tuple[str, list[str], Iterator[list[Any]]]]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    for title, header, data in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(header)
        for row in data:
            sheet.append(row)
    workbook.save(path)


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
    text = escape(str(value)).replace("\x00", "")
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
                content.write(f'<table:table table:name="{escape(title)}">'.encode())
                content.write(_ods_row(header))
                buffer = []
                for count, row in enumerate(data, 1):
                    buffer.append(_ods_row(row))
                    if count % 500 == 0:
                        content.write(b"".join(buffer))
                        buffer.clear()
                content.write(b"".join(buffer))
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
    session: Session, questionnaire: Questionnaire, fmt: str, delimiter: str = ","
) -> Iterator[bytes]:
    """The responses in ``fmt`` as a stream of bytes (the codebook is its own CSV, and a second
    sheet in XLSX/ODS)."""
    definition = questionnaire.definition
    if fmt == "csv":
        return csv_stream(headers(definition), rows(session, questionnaire), delimiter)
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


def codebook_csv(definition: engine.Definition, delimiter: str = ",") -> Iterator[bytes]:
    data = codebook_rows(definition)
    return csv_stream(next(data), data, delimiter)
