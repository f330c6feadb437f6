"""Demo step: one national and one académie synthesis published from demo content."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.models import User
from consult.territories import Scope
from synthesis.results.base import ResultsError
from synthesis.results.drafting import add_proposal, start_draft
from synthesis.results.publication import publish
from synthesis.results.reading import latest
from synthesis.results.scopes import scope
from synthesis.results.sources import add_source

DEMO_PROPOSALS = (
    (
        "Garantir à chaque élève un équipement et une connexion",
        "Prêter un ordinateur et une connexion aux familles qui n'en ont pas, organisé par "
        "l'établissement avec les collectivités, **avant** toute période d'enseignement à "
        "distance.",
    ),
    (
        "Former les enseignants aux usages pédagogiques du numérique",
        "Une formation continue **au plus près des classes**, entre pairs, avec du temps "
        "dégagé pour préparer des séquences.",
    ),
    (
        "Partager les outils et les pratiques entre établissements",
        "Un espace commun de ressources et de retours d'expérience, ouvert aux équipes de "
        "direction, aux enseignants et aux agents.",
    ),
)


def demo(session: Session, scale: str, rng: Any, progress: Any) -> None:
    """Demo step (after the compilation): the national synthesis by the demo analyst and the
    Poitiers synthesis by its demo coordinator, three proposals each citing real demo items."""
    from consult.demo import DEMO_EMAIL_DOMAIN
    from consult.security import email_key

    for email, kind, code in (
        (f"analyse@{DEMO_EMAIL_DOMAIN}", "national", ""),
        (f"coord-poitiers@{DEMO_EMAIL_DOMAIN}", "academie", "13"),
    ):
        user = session.scalar(select(User).where(User.email_key == email_key(email)))
        info = scope(kind, code)
        if user is None or latest(session, info) is not None:
            continue
        _demo_publish(session, info, user)


def _demo_publish(session: Session, info: Scope, user: User) -> None:
    from forums.models import Contribution, Theme

    draft = start_draft(session, info, user)
    draft.introduction = (
        "Cette synthèse rassemble ce que les **élèves, parents, professeurs, personnels "
        "d'encadrement et agents** ont dit pendant la consultation : contributions aux forums, "
        "idées, retours d'expérience et réponses au questionnaire."
    )
    from synthesis import store

    if store.latest(session) is not None:
        draft.figure_names = ["participation", "forum_consensus", "survey_distribution"]
    candidates = _demo_sources(session, info)
    for position, ((title, text), theme) in enumerate(
        zip(DEMO_PROPOSALS, session.scalars(select(Theme).order_by(Theme.position)), strict=False),
        start=1,
    ):
        proposal = add_proposal(
            session, draft, user, theme=theme.slug, title=title, text=text, position=position
        )
        best = session.scalar(
            select(Contribution.id)
            .where(
                Contribution.theme_id == theme.id,
                Contribution.is_public,
            )
            .order_by(Contribution.wilson.desc(), Contribution.id)
            .limit(1)
        )
        references = [f"contribution:{best}"] if best else []
        if position <= len(candidates):
            references.append(candidates[position - 1])
        for reference in references:
            try:
                add_source(session, proposal, user, reference)
            except ResultsError:
                continue  # e.g. a sheet since moved to another territory: cite the others
    publish(session, info, user)


def _demo_sources(session: Session, info: Scope) -> list[str]:
    """An idea, a Retex sheet and a questionnaire finding the scope may cite, when they exist."""
    from consult.territorial.models import Idea
    from retex.models import RetexSheet
    from surveys.services import current_questionnaire

    found = []
    idea = session.scalar(
        select(Idea.id)
        .where(
            Idea.is_public,
            Idea.academie_code.in_(info.academie_codes),
        )
        .order_by(Idea.support_count.desc(), Idea.id)
        .limit(1)
    )
    if idea:
        found.append(f"idee:{idea}")
    sheets = select(RetexSheet.id).where(RetexSheet.is_public)
    if info.kind != "national":
        sheets = sheets.where(RetexSheet.academie_code.in_(info.academie_codes))
    sheet = session.scalar(sheets.order_by(RetexSheet.id.desc()).limit(1))
    if sheet:
        found.append(f"retex:{sheet}")
    questionnaire = current_questionnaire(session)
    if questionnaire is not None:
        question = next(
            (q for q in questionnaire.definition.questions if q.type == "single" and q.options),
            None,
        )
        if question is not None:
            found.append(f"question:{question.code}:{question.options[-1].value}")
    return found
