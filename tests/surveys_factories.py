"""Questionnaire test helpers: small definitions with markup in their texts (escaping bugs
show), users with roles, and a walker that answers every page of a track like a browser."""

from __future__ import annotations

import random
import re
from datetime import date
from typing import Any

from consult.db import db, utcnow
from surveys import engine, services
from surveys.demo import Answerer
from tests.factories import RoleGrantFactory, UserFactory

CODE_RE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{2})\b")


def small_definition(
    slug: str = "test-mini",
    opens: date = date(2020, 1, 1),
    closes: date = date(2099, 1, 1),
    version: int = 1,
) -> dict[str, Any]:
    return {
        "slug": slug,
        "version": version,
        "title": "Mini <script>alert('q')</script>",
        "intro": "Intro <b>gras</b>",
        "opens": opens.isoformat(),
        "closes": closes.isoformat(),
        "audiences": ["eleve", "professeur"],
        "sections": [
            {
                "code": "s1",
                "title": "Section <i>un</i>",
                "questions": [
                    {
                        "code": "Q1",
                        "type": "single",
                        "text": "Ordinateur <script>x</script> ?",
                        "options": [
                            {"value": "oui", "label": "Oui <b>"},
                            {"value": "non", "label": "Non"},
                        ],
                    },
                    {
                        "code": "Q2",
                        "type": "number",
                        "text": "Combien ?",
                        "min": 1,
                        "max": 10,
                        "condition": {"question": "Q1", "in": ["oui"]},
                    },
                    {
                        "code": "Q3",
                        "type": "multiple",
                        "text": "Outils",
                        "max_choices": 2,
                        "options": [
                            {"value": "a", "label": "A"},
                            {"value": "b", "label": "B"},
                            {"value": "c", "label": "C"},
                        ],
                    },
                ],
            },
            {
                "code": "s2",
                "title": "Élèves seulement",
                "audiences": ["eleve"],
                "condition": {"question": "Q1", "in": ["oui"]},
                "questions": [
                    {
                        "code": "Q4",
                        "type": "ranking",
                        "text": "Classez",
                        "max_rank": 2,
                        "options": [
                            {"value": "x", "label": "X"},
                            {"value": "y", "label": "Y"},
                            {"value": "z", "label": "Z"},
                        ],
                    },
                    {
                        "code": "Q5",
                        "type": "scale",
                        "text": "Satisfaction",
                        "min_label": "Pas du tout",
                        "max_label": "Tout à fait",
                        "required": False,
                    },
                ],
            },
            {
                "code": "s3",
                "title": "Fin",
                "questions": [
                    {"code": "Q6", "type": "longtext", "text": "Un mot ?", "required": False},
                    {
                        "code": "Q7",
                        "type": "text",
                        "text": "Précisez",
                        "required": False,
                        "condition": {"question": "Q3", "in": ["c"]},
                    },
                ],
            },
        ],
    }


def load_small(session, **kw) -> Any:
    questionnaire, _changed = services.load_definition(
        session, engine.parse(small_definition(**kw)), utcnow()
    )
    return questionnaire


def user_with_role(
    role: str | None = None, scope_kind: str = "national", scope_code: str = "", **kw
):
    user = UserFactory(**kw)
    if role:
        RoleGrantFactory(user=user, role=role, scope_kind=scope_kind, scope_code=scope_code)
        db.session.refresh(user)
    return user


def form_data(question: engine.Question, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def answer_pages(
    client,
    definition: engine.Definition,
    audience: str,
    overrides: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    seed: int = 1,
    stop_after: int | None = None,
    start_page: int = 1,
    known: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Answer pages from ``start_page`` as a browser would (posting 'suivant'); returns the
    answers sent. ``extra`` adds values for questions that should be hidden (tampering)."""
    overrides = overrides or {}
    rng = random.Random(seed)
    answerer = Answerer(definition, audience)
    answers: dict[str, Any] = dict(known or {})
    number = start_page
    while True:
        sections = engine.visible_sections(definition, audience, answers)
        if number > len(sections) or (stop_after is not None and number > stop_after):
            return answers
        section = sections[number - 1]
        data: dict[str, Any] = {"action": "suivant"}
        for question in section.questions:
            if not engine.evaluate(question.condition, answers):
                if question.code in (extra or {}):
                    data[f"q_{question.code}"] = form_data(question, extra[question.code])
                continue
            if question.code in overrides:
                value = overrides[question.code]
            elif question.required:
                value = answerer._value(question, rng)
            else:
                value = None
            if value is not None:
                answers[question.code] = value
                data[f"q_{question.code}"] = form_data(question, value)
        url = f"/questionnaire/page/{number}"
        response = client.submit(url, data)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        number += 1
