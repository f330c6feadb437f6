"""Reads for the results pages: per-question counts split by audience and académie, free text.

Answers live in one JSON document per response; each question's counts are aggregated by the
database (GROUP BY audience, académie, value) so only a few hundred rows come back whatever the
number of responses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from consult.text import mask_personal_data
from surveys import engine
from surveys.models import Questionnaire, SurveyResponse

STREAM_CHUNK = 5_000


@dataclass
class Split:
    """Counts for one group (an audience, an académie, or everyone)."""

    respondents: int = 0  # people who answered this question
    counts: Counter = field(default_factory=Counter)
    first: Counter = field(default_factory=Counter)  # ranking: times ranked first
    total: int = 0  # number questions: sum, for the mean

    def share(self, key: Any) -> float | None:
        return self.counts[key] / self.respondents if self.respondents else None

    @property
    def mean(self) -> float | None:
        return self.total / self.respondents if self.respondents else None


@dataclass
class QuestionResults:
    question: engine.Question
    keys: list[tuple[Any, str]]  # (value, label) rows of the tables
    overall: Split
    by_audience: dict[str, Split]
    by_academie: dict[str, Split]


def response_counts(session: Session, questionnaire: Questionnaire) -> dict[str, int]:
    rows = session.execute(
        select(SurveyResponse.author_audience, func.count())
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .group_by(SurveyResponse.author_audience)
    ).all()
    return {audience: count for audience, count in rows}  # noqa: C416 - rows are Row objects


def response_counts_by_academie(session: Session, questionnaire: Questionnaire) -> dict[str, int]:
    """Responses per académie: a question every response answered counts the same people (one
    disclosure cell, synthesis/privacy.py)."""
    rows = session.execute(
        select(SurveyResponse.author_academie_code, func.count())
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .group_by(SurveyResponse.author_academie_code)
    ).all()
    return {academie or "": count for academie, count in rows}


def _keys(question: engine.Question) -> list[tuple[Any, str]]:
    if question.type == "scale":
        return [
            (i, f"{i} – {question.min_label}" if i == 1 else f"{i} – {question.max_label}")
            if i in (1, 5)
            else (i, str(i))
            for i in question.scale_points
        ]
    return [(o.value, o.label) for o in question.options]


def _sql(dialect: str, kind: str) -> str:
    """Aggregations pushed into the database, one statement per dialect: PostgreSQL's JSON
    operators and set-returning json_array_elements_text, SQLite's json_extract and json_each.
    Codes are bound parameters, never interpolated."""
    pg = dialect == "postgresql"
    value = "r.answers ->> :code" if pg else "json_extract(r.answers, :path)"
    where = f"r.questionnaire_id = :qid AND {value} IS NOT NULL"
    group = "r.author_audience, r.author_academie_code"
    if kind == "respondents":
        return f"SELECT {group}, NULL, count(*) FROM survey_response r WHERE {where} GROUP BY 1, 2"  # noqa: S608 - fixed fragments, values bound
    if kind == "scalar":
        return (
            f"SELECT {group}, {value}, count(*) FROM survey_response r WHERE {where} "  # noqa: S608 - fixed fragments, values bound
            f"GROUP BY 1, 2, 3"
        )
    if kind == "sum":
        number = f"CAST({value} AS BIGINT)" if pg else value
        return (
            f"SELECT {group}, NULL, sum({number}) FROM survey_response r WHERE {where} "  # noqa: S608 - fixed fragments, values bound
            f"GROUP BY 1, 2"
        )
    if kind == "elements":
        source = (
            "CROSS JOIN LATERAL jsonb_array_elements_text(r.answers -> :code) AS e(value)"
            if pg
            else ", json_each(r.answers, :path) AS e"
        )
        return (
            f"SELECT {group}, e.value, count(*) FROM survey_response r {source} "  # noqa: S608 - fixed fragments, values bound
            f"WHERE r.questionnaire_id = :qid GROUP BY 1, 2, 3"
        )
    first = "r.answers -> :code ->> 0" if pg else "json_extract(r.answers, :first)"
    return (
        f"SELECT {group}, {first}, count(*) FROM survey_response r WHERE {where} "  # noqa: S608 - fixed fragments, values bound
        f"GROUP BY 1, 2, 3"
    )


def _count(split: Split, key: Any, count: int) -> None:
    split.counts[key] += count
    split.respondents += count


def question_results(
    session: Session, questionnaire: Questionnaire, question: engine.Question
) -> QuestionResults:
    overall = Split()
    by_audience: dict[str, Split] = defaultdict(Split)
    by_academie: dict[str, Split] = defaultdict(Split)
    dialect = session.get_bind().dialect.name
    params = {
        "qid": questionnaire.id,
        "code": question.code,
        "path": f'$."{question.code}"',
        "first": f'$."{question.code}"[0]',
    }

    def add(kind: str, apply) -> None:
        for audience, academie, key, count in session.execute(text(_sql(dialect, kind)), params):
            for split in (overall, by_audience[audience], by_academie[academie or ""]):
                apply(split, key, count)

    def respondents(split: Split, _key: Any, count: int) -> None:
        split.respondents += count

    if question.type in ("multiple", "ranking", "number") or question.is_free_text:
        # Single choice and scale: the respondents are the sum of the value counts.
        add("respondents", respondents)
    if question.type in ("multiple", "ranking"):
        add("elements", lambda split, key, count: split.counts.update({str(key): count}))
        if question.type == "ranking":
            add("first", lambda split, key, count: split.first.update({str(key): count}))
    elif question.type == "number":

        def total(split: Split, _key: Any, value: Any) -> None:
            split.total += int(value or 0)

        add("sum", total)
    elif question.type == "scale":
        add("scalar", lambda split, key, count: _count(split, int(key), count))
    elif not question.is_free_text:
        add("scalar", lambda split, key, count: _count(split, str(key), count))
    return QuestionResults(question, _keys(question), overall, dict(by_audience), dict(by_academie))


def free_text(
    session: Session,
    questionnaire: Questionnaire,
    question: engine.Question,
    search: str = "",
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Free-text answers, newest first, with contact details masked; (rows, total)."""
    text_expr = SurveyResponse.answers[question.code].as_string()
    query = select(
        SurveyResponse.id,
        SurveyResponse.author_audience,
        SurveyResponse.author_academie_code,
        SurveyResponse.submitted_at,
        text_expr,
    ).where(
        SurveyResponse.questionnaire_id == questionnaire.id,
        text_expr.is_not(None),
        text_expr != "",
    )
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(func.lower(text_expr).like(f"%{escaped.lower()}%", escape="\\"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(SurveyResponse.id.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return [
        {
            "id": rid,
            "audience": audience,
            "academie_code": academie,
            "submitted_at": when,
            "text": mask_personal_data(text),
        }
        for rid, audience, academie, when, text in rows
    ], total
