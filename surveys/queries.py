"""Reads for the results pages: per-question counts split by audience and académie, free text.

The counts come from the answers tally the database keeps at write time (``surveys/tally.py``,
the same rows the syntheses read): a few hundred rows per question whatever the number of
responses. Free text is read from the responses themselves, a page at a time.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.text import mask_personal_data
from surveys import engine, tally
from surveys.models import Questionnaire, SurveyResponse


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


def _responses(session: Session, questionnaire: Questionnaire) -> list[tuple]:
    return tally.read(session, questionnaire.id, ("n",))


def response_counts(session: Session, questionnaire: Questionnaire) -> dict[str, int]:
    counts: Counter = Counter()
    for _kind, _q, _o, _academie, audience, count in _responses(session, questionnaire):
        counts[audience] += count
    return dict(counts)


def response_counts_by_academie(session: Session, questionnaire: Questionnaire) -> dict[str, int]:
    """Responses per académie: a question every response answered counts the same people (one
    disclosure cell, synthesis/privacy.py)."""
    counts: Counter = Counter()
    for _kind, _q, _o, academie, _audience, count in _responses(session, questionnaire):
        counts[academie or ""] += count
    return dict(counts)


def _keys(question: engine.Question) -> list[tuple[Any, str]]:
    if question.type == "scale":
        return [
            (i, f"{i} – {question.min_label}" if i == 1 else f"{i} – {question.max_label}")
            if i in (1, 5)
            else (i, str(i))
            for i in question.scale_points
        ]
    return [(o.value, o.label) for o in question.options]


def _integer(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def question_results(
    session: Session, questionnaire: Questionnaire, question: engine.Question
) -> QuestionResults:
    """Counts of a single choice, multiple choice, ranking, scale or number question (free text
    is browsed with ``free_text``, never counted)."""
    overall = Split()
    by_audience: dict[str, Split] = defaultdict(Split)
    by_academie: dict[str, Split] = defaultdict(Split)
    listed = question.type in tally.LIST_TYPES
    for kind, _q, option, academie, audience, count in tally.read(
        session, questionnaire.id, ("v", "b", "f"), question.code
    ):
        for split in (overall, by_audience[audience], by_academie[academie or ""]):
            if kind == "b":
                split.respondents += count
            elif kind == "f":
                split.first[option] += count
            elif listed:
                split.counts[option] += count
            elif question.type == "number":
                # Respondents and their sum (for the mean): numbers are not tabulated.
                split.respondents += count
                split.total += (_integer(option) or 0) * count
            elif question.type == "scale":
                value = _integer(option)
                if value is not None:
                    split.counts[value] += count
                    split.respondents += count
            else:
                split.counts[option] += count
                split.respondents += count
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
