"""Demo responses: the questionnaire answered at every scale, with audience-dependent answer
distributions, conditions respected (answers only to visible questions) and a realistic share of
optional questions left blank. Accounts answer for part of the responses; the rest come through
access codes (classes and meetings), as in 2020.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.demo import ACADEMIE_WEIGHTS, AUDIENCE_WEIGHTS
from consult.models import User
from consult.text import find_personal_data
from surveys import engine, services
from surveys.models import SurveyParticipation, SurveyResponse

# 2020: 26,839 responses; egn is ten times the 2020 edition, gd the Grand Débat's 1.4 M.
TARGETS = {"tiny": 150, "egn": 268_390, "gd": 1_400_000}
CHUNK = 5_000

# Hand-set distributions where the audience clearly changes the picture (weights follow the
# order of the options; "*" for the other audiences). Everything else gets stable pseudo-random
# weights per (question, audience).
SKEWS: dict[str, dict[str, list[float]]] = {
    # Inclusion probabilities per device, not weights: see _multiple().
    "C05": {
        "eleve": [0.62, 0.35, 0.85, 0.35, 0.06],
        "parent": [0.78, 0.45, 0.95, 0.55, 0.03],
        "*": [0.93, 0.42, 0.95, 0.62, 0.01],
    },
    "C08": {"eleve": [50, 30, 15, 5], "parent": [48, 35, 12, 5], "*": [58, 34, 7, 1]},
    "C02": {
        "eleve": [5, 10, 25, 35, 25],
        "parent": [10, 18, 32, 27, 13],
        "professeur": [6, 15, 35, 30, 14],
        "*": [4, 10, 30, 36, 20],
    },
    "C40": {
        "eleve": [10, 18, 32, 28, 12],
        "parent": [14, 24, 32, 22, 8],
        "professeur": [16, 28, 30, 19, 7],
        "*": [8, 20, 34, 28, 10],
    },
    "C31": {
        "professeur": [10, 22, 30, 28, 10],
        "parent": [18, 26, 30, 20, 6],
        "*": [8, 18, 32, 30, 12],
    },
    "C03": {
        "eleve": [12, 25, 35, 20, 8],
        "professeur": [5, 15, 35, 30, 15],
        "*": [15, 25, 30, 20, 10],
    },
    "C04": {"*": [2, 4, 12, 32, 50]},
    "T05": {"*": [22, 38, 40]},
    "T10": {"*": [2, 4, 12, 32, 50]},
    "E07": {"*": [45, 38, 17]},
    "P04": {"*": [46, 38, 9, 7]},
}
NUMBER_RANGES = {
    "C06": (1, 4),
    "E09": (1, 8),
    "P01": (1, 4),
    "T02": (0, 40),
    "T08": (0, 60),
    "T11": (30, 60),
    "D07": (0, 400),
    "D09": (0, 300),
    "A08": (0, 80),
}
OPENINGS = [
    "Je pense que",
    "À mon avis,",
    "Franchement,",
    "Pendant le confinement,",
    "Dans notre établissement,",
    "Pour ma part,",
    "Ce qui m'a marqué :",
]
IDEAS = [
    "il faudrait prêter un ordinateur à chaque élève qui n'en a pas",
    "les identifiants de l'ENT devraient être donnés dès la rentrée, sur papier",
    "une seule plateforme suffirait au lieu de cinq applications différentes",
    "les classes virtuelles ont permis de garder le lien avec les élèves",
    "la connexion était trop lente le matin, tout le monde se connectait en même temps",
    "les familles ont besoin d'un accompagnement, pas seulement d'outils",
    "les professeurs ont beaucoup appris en peu de temps, grâce à l'entraide entre collègues",
    "il faut des outils publics qui respectent les données des élèves",
    "le téléphone ne remplace pas un ordinateur pour rédiger un devoir",
    "imprimer les documents coûtait cher aux familles",
    "une formation courte et concrète aux outils aurait tout changé",
    "le cahier de textes en ligne a rendu le travail plus lisible",
    "les élèves les plus fragiles ont décroché faute de contact",
    "on devrait garder les ressources en ligne pour les absences",
]
ENDINGS = [
    ".",
    ", surtout en zone rurale.",
    ", c'est essentiel.",
    " et cela reste vrai aujourd'hui.",
    ".",
]


def _weights(question: engine.Question, audience: str, count: int) -> list[float]:
    skew = SKEWS.get(question.code)
    if skew is not None:
        return skew.get(audience, skew["*"])
    # Stable across runs and seeds: a string seed is hashed deterministically by random.
    local = random.Random(f"{question.code}:{audience}")  # noqa: S311 - demo data
    return [0.15 + local.random() ** 2 for _ in range(count)]


class Answerer:
    """Precomputed distributions for one audience; answer() draws one response."""

    def __init__(self, definition: engine.Definition, audience: str) -> None:
        self.definition = definition
        self.audience = audience
        self.sections = definition.sections_for(audience)
        self.weights = {
            q.code: _weights(q, audience, len(q.options) or 5)
            for q in definition.questions_for(audience)
        }

    def answer(self, rng: random.Random) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for section in self.sections:
            if not engine.evaluate(section.condition, answers):
                continue
            for question in section.questions:
                if not engine.evaluate(question.condition, answers):
                    continue
                skip = 0.75 if question.is_free_text else 0.2
                if not question.required and rng.random() < skip:
                    continue
                value = self._value(question, rng)
                if value is not None:
                    answers[question.code] = value
        return answers

    def _value(self, q: engine.Question, rng: random.Random) -> Any:
        weights = self.weights[q.code]
        match q.type:
            case "single":
                return rng.choices(q.option_values, weights)[0]
            case "scale":
                return rng.choices((1, 2, 3, 4, 5), weights)[0]
            case "multiple":
                return self._multiple(q, weights, rng)
            case "ranking":
                pool = list(q.option_values)
                pool_w = list(weights)
                ranked = []
                for _ in range(q.max_rank or 1):
                    pick = rng.choices(range(len(pool)), pool_w)[0]
                    ranked.append(pool.pop(pick))
                    pool_w.pop(pick)
                return ranked
            case "number":
                low, high = NUMBER_RANGES.get(q.code, (q.min, q.min))
                return int(rng.triangular(low, high, low + (high - low) / 3))
            case _:
                return self._text(q, rng)

    def _multiple(self, q: engine.Question, weights: list[float], rng: random.Random):
        if q.code in SKEWS:
            probabilities = weights
        else:
            top = max(weights)
            probabilities = [0.1 + 0.55 * w / top for w in weights]
        exclusive = {"aucun", "aucune"}
        chosen = [
            o.value
            for o, p in zip(q.options, probabilities, strict=True)
            if o.value not in exclusive and rng.random() < p
        ]
        none = [v for v in q.option_values if v in exclusive]
        if none and (not chosen or rng.random() < probabilities[q.option_values.index(none[0])]):
            return [none[0]]
        if q.max_choices and len(chosen) > q.max_choices:
            chosen = sorted(rng.sample(chosen, q.max_choices), key=q.option_values.index)
        return chosen or [rng.choices(q.option_values, weights)[0]]

    def _text(self, q: engine.Question, rng: random.Random) -> str:
        sentence = f"{rng.choice(OPENINGS)} {rng.choice(IDEAS)}{rng.choice(ENDINGS)}"
        if q.type == "text":
            return sentence[: engine.SHORT_TEXT_MAX]
        if rng.random() < 0.4:
            sentence += f" Par ailleurs, {rng.choice(IDEAS)}."
        if rng.random() < 0.004:
            # A few people always leave contact details: the exports must mask them.
            sentence += " Vous pouvez me joindre au 06 12 34 56 78."
        return sentence


def generate(session: Session, scale: str, rng: random.Random, progress) -> None:
    definition = engine.load_file(engine.default_path())
    questionnaire = services.current_questionnaire(session, definition.slug)
    if questionnaire is None:
        questionnaire, _changed = services.load_definition(session, definition, utcnow())
        session.commit()
    definition = questionnaire.definition
    audiences = [a for a in AUDIENCE_WEIGHTS if a.value in definition.audiences]
    audience_w = [AUDIENCE_WEIGHTS[a] for a in audiences]
    acad_codes = list(ACADEMIE_WEIGHTS)
    acad_w = list(ACADEMIE_WEIGHTS.values())
    answerers = {a.value: Answerer(definition, a.value) for a in audiences}
    users = session.execute(
        select(User.id, User.audience, User.academie_code).where(
            User.is_demo.is_(True), User.audience.in_(definition.audiences)
        )
    ).all()
    answered_ids = {
        row[0]
        for row in session.execute(
            select(SurveyParticipation.user_id).where(
                SurveyParticipation.questionnaire_id == questionnaire.id
            )
        )
    }
    users = [u for u in users if u.id not in answered_ids]
    rng.shuffle(users)
    target = TARGETS[scale]
    # About half of the registered participants answer; codes bring the rest.
    with_account = users[: min(len(users) // 2, target * 3 // 5)]
    start = questionnaire.opens_at
    end = min(utcnow(), questionnaire.closes_at)
    span = max((end - start).total_seconds(), 3600.0)
    done = 0
    with progress("Réponses au questionnaire", target) as bar:
        while done < target:
            responses, participations = [], []
            for i in range(done, min(target, done + CHUNK)):
                when = start + timedelta(seconds=span * rng.betavariate(1.3, 2.5))
                if i < len(with_account):
                    user = with_account[i]
                    audience, academie = user.audience, user.academie_code
                    participations.append(
                        {
                            "questionnaire_id": questionnaire.id,
                            "user_id": user.id,
                            "submitted_at": when,
                        }
                    )
                else:
                    audience = rng.choices(audiences, audience_w)[0].value
                    academie = rng.choices(acad_codes, acad_w)[0]
                answers = answerers[audience].answer(rng)
                responses.append(
                    _row(
                        questionnaire.id, audience, academie, answers, when, i >= len(with_account)
                    )
                )
            session.execute(insert(SurveyResponse), responses)
            if participations:
                session.execute(insert(SurveyParticipation), participations)
            session.commit()
            done += len(responses)
            bar.update(len(responses))


def _row(
    questionnaire_id: int,
    audience: str,
    academie: str | None,
    answers: dict[str, Any],
    when: datetime,
    via_code: bool,
) -> dict[str, Any]:
    texts = [v for v in answers.values() if isinstance(v, str) and len(v) > 25]
    return {
        "questionnaire_id": questionnaire_id,
        "author_audience": audience,
        "author_academie_code": academie,
        "answers": answers,
        "submitted_at": when,
        "has_personal_data": any(find_personal_data(t) for t in texts),
        "via_code": via_code,
    }
