"""Reads for the results pages: per-question counts split by audience and académie, free text.

Answers live in one JSON document per response; each question's value is read with the JSON
path operator of the database (``->`` on PostgreSQL, ``json_extract`` on SQLite) and streamed,
so memory stays bounded whatever the number of responses.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
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


def _keys(question: engine.Question) -> list[tuple[Any, str]]:
    if question.type == "scale":
        return [
            (i, f"{i} – {question.min_label}" if i == 1 else f"{i} – {question.max_label}")
            if i in (1, 5)
            else (i, str(i))
            for i in question.scale_points
        ]
    return [(o.value, o.label) for o in question.options]


def question_results(
    session: Session, questionnaire: Questionnaire, question: engine.Question
) -> QuestionResults:
    overall = Split()
    by_audience: dict[str, Split] = defaultdict(Split)
    by_academie: dict[str, Split] = defaultdict(Split)
    value_expr = SurveyResponse.answers[question.code]
    rows = session.execute(
        select(SurveyResponse.author_audience, SurveyResponse.author_academie_code, value_expr)
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .execution_options(yield_per=STREAM_CHUNK)
    )
    for audience, academie, value in rows:
        if value is None or value == "" or value == []:
            continue
        for split in (overall, by_audience[audience], by_academie[academie or ""]):
            split.respondents += 1
            if isinstance(value, list):
                split.counts.update(value)
                if question.type == "ranking" and value:
                    split.first[value[0]] += 1
            elif question.type == "number":
                split.total += value
            elif not question.is_free_text:
                split.counts[value] += 1
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
