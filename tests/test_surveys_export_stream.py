"""The responses CSV at scale: streamed from a server-side cursor by blocks in bounded memory,
and byte for byte what the plain per-cell writer gives (the columnar path, and its row-by-row
fallback for answers that do not fit their questions, change nothing in the file)."""

from __future__ import annotations

import csv
import io
import random

from consult import csvout
from consult.db import utcnow
from consult.text import mask_personal_data
from surveys import engine, exports, services
from surveys.demo import Answerer
from surveys.models import SurveyResponse


def _egn(session):
    questionnaire, _changed = services.load_definition(
        session, engine.load_file(engine.default_path()), utcnow()
    )
    return questionnaire


def _fill(session, questionnaire, per_audience: int = 40) -> None:
    rng = random.Random(5)
    for audience in ("eleve", "parent", "professeur", "encadrement", "agent"):
        answerer = Answerer(questionnaire.definition, audience)
        for i in range(per_audience):
            session.add(
                SurveyResponse(
                    questionnaire_id=questionnaire.id,
                    author_audience=audience,
                    author_academie_code="01" if i % 2 else None,
                    via_code=i % 3 == 0,
                    answers=answerer.answer(rng),
                )
            )
    free = [q.code for q in questionnaire.definition.questions if q.is_free_text]
    hostile = dict.fromkeys(free, '=HYPERLINK("x") écrire à a@b.fr ou 06 12 34 56 78 ; "q"\n')
    session.add(
        SurveyResponse(
            questionnaire_id=questionnaire.id,
            author_audience="parent",
            author_academie_code="13",
            answers=hostile,
        )
    )
    session.flush()


def _reference(session, questionnaire, sep: str = csvout.SEMICOLON) -> bytes:
    """The file as the plain writer makes it: every value through csvout.cell, one by one."""
    definition = questionnaire.definition
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(exports.headers(definition))
    responses = session.query(SurveyResponse).filter_by(questionnaire_id=questionnaire.id)
    for response in responses.order_by(SurveyResponse.id):
        row = [
            response.id,
            csvout.iso(response.submitted_at),
            response.author_audience,
            response.author_academie_code or "",
            int(bool(response.via_code)),
        ]
        answers = response.answers
        for q in definition.questions:
            value = answers.get(q.code)
            if q.type == "multiple":
                row += (
                    [""] * len(q.option_values)
                    if value is None
                    else [int(o in value) for o in q.option_values]
                )
            elif q.type == "ranking":
                size = q.max_rank or 0
                value = value or []
                row += value[:size] + [""] * (size - len(value))
            elif q.is_free_text:
                row.append("" if value is None else mask_personal_data(value))
            else:
                row.append("" if value is None else value)
        writer.writerow([csvout.cell(v) for v in row])
    bom = csvout.BOM if sep == csvout.SEMICOLON else ""
    return (bom + out.getvalue()).encode("utf-8")


def test_responses_csv_is_byte_identical_to_the_plain_writer(session, app, monkeypatch) -> None:
    questionnaire = _egn(session)
    _fill(session, questionnaire)
    for sep in (csvout.SEMICOLON, csvout.COMMA):
        streamed = b"".join(exports.build(session, questionnaire, "csv", sep))
        assert streamed == _reference(session, questionnaire, sep)
    text = streamed.decode()
    assert "'=HYPERLINK" in text and "a@b.fr" not in text


def test_responses_csv_by_blocks_with_odd_answers_falls_back_row_by_row(
    session, monkeypatch
) -> None:
    questionnaire = _egn(session)
    _fill(session, questionnaire, per_audience=6)
    # Hand-made answers of the wrong JSON type: their block is written row by row.
    for answers in (
        {"C01": ["oui"], "C03": "3", "C05": "ordinateur"},
        {"C02": 4, "C08": None, "C34": "=texte ; libre"},
        {"C05": ["ordinateur", 3]},
    ):
        session.add(
            SurveyResponse(
                questionnaire_id=questionnaire.id,
                author_audience="eleve",
                author_academie_code="13",
                answers=answers,
            )
        )
    session.flush()
    monkeypatch.setattr(exports, "BLOCK_ROWS", 7)
    fallbacks = 0
    original = exports._row

    def counting(*args):
        nonlocal fallbacks
        fallbacks += 1
        return original(*args)

    monkeypatch.setattr(exports, "_row", counting)
    for sep in (csvout.SEMICOLON, csvout.COMMA):
        streamed = b"".join(exports.build(session, questionnaire, "csv", sep))
        assert streamed == _reference(session, questionnaire, sep)
    # Only the blocks holding odd answers went row by row.
    assert 0 < fallbacks <= 2 * 3 * 7


def test_responses_csv_streams_without_reading_every_row_first(session, monkeypatch) -> None:
    questionnaire = _egn(session)
    _fill(session, questionnaire, per_audience=300)  # 1,501 responses
    monkeypatch.setattr(exports, "BLOCK_ROWS", 400)
    read = 0
    original = exports._records

    def counting(*args, **kwargs):
        nonlocal read
        for records in original(*args, **kwargs):
            read += len(records)
            yield records

    monkeypatch.setattr(exports, "_records", counting)
    stream = exports.build(session, questionnaire, "csv")
    assert next(stream) == csvout.BOM.encode() and read == 0  # the download starts at once
    next(stream)  # the header
    next(stream)  # the first block
    assert read == 400
    rest = list(stream)
    assert read == 1501 and len(rest) == 3
