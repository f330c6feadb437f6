"""Questionnaire logic: definitions, drafts, submission, access codes. Takes the session, never
commits (the view or the CLI does)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import Audience, User
from consult.territories import catalog
from consult.text import find_personal_data
from consult.web import ConsultError
from surveys import engine
from surveys.models import (
    AccessCode,
    AccessCodeBatch,
    Questionnaire,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
)

DEFAULT_SLUG = "egn-2020"
# No 0/O, 1/I/L: codes are read aloud and copied by children from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
MAX_BATCH = 500
MAX_CODE_DAYS = 180


class SurveyError(ConsultError):
    """A refusal, with a French message and the HTTP status the view answers with."""


# --- Definitions ---------------------------------------------------------------------------------


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min)


def load_definition(
    session: Session, definition: engine.Definition, now: datetime | None = None
) -> tuple[Questionnaire, bool]:
    """Create the questionnaire, or replace its definition while it has not opened yet.

    Returns (questionnaire, changed). Loading the same data again is a no-op, even after opening.
    """
    now = now or utcnow()
    data = definition.to_data()
    questionnaire = session.scalar(
        select(Questionnaire).where(Questionnaire.slug == definition.slug)
    )
    if questionnaire is None:
        questionnaire = Questionnaire(slug=definition.slug)
        session.add(questionnaire)
    elif questionnaire.definition_data == data:
        return questionnaire, False
    elif questionnaire.has_opened(now):
        raise SurveyError(
            "Ce questionnaire est ouvert depuis le "
            f"{questionnaire.opens_at:%d/%m/%Y} : sa définition ne peut plus être modifiée."
        )
    questionnaire.version = definition.version
    questionnaire.title = definition.title
    questionnaire.definition_data = data
    questionnaire.opens_at = _day_start(definition.opens)
    questionnaire.closes_at = _day_start(definition.closes)
    session.flush()
    return questionnaire, True


def current_questionnaire(session: Session, slug: str = DEFAULT_SLUG) -> Questionnaire | None:
    return session.scalar(select(Questionnaire).where(Questionnaire.slug == slug))


# --- Who is answering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Respondent:
    audience: str
    academie_code: str | None
    user_id: int | None = None
    access_code_id: int | None = None

    @classmethod
    def of_user(cls, user: User) -> Respondent:
        return cls(user.audience, user.academie_code, user_id=user.id)

    @classmethod
    def of_code(cls, code: AccessCode) -> Respondent:
        return cls(code.batch.audience, code.batch.academie_code, access_code_id=code.id)


def check_can_answer(
    session: Session, questionnaire: Questionnaire, respondent: Respondent, now: datetime
) -> None:
    if now < questionnaire.opens_at:
        raise SurveyError(
            f"Le questionnaire ouvrira le {questionnaire.opens_at:%d/%m/%Y}.", status=403
        )
    if now >= questionnaire.closes_at:
        raise SurveyError("Le questionnaire est clos : les réponses ne sont plus acceptées.", 403)
    if respondent.audience not in questionnaire.definition.audiences:
        raise SurveyError(
            "Ce questionnaire s'adresse aux élèves, parents, professeurs, personnels "
            "d'encadrement et agents ; votre profil n'a pas de parcours.",
            status=403,
        )
    if respondent.user_id is not None and has_answered(session, questionnaire, respondent.user_id):
        raise SurveyError("Vous avez déjà répondu à ce questionnaire. Merci !")


def has_answered(session: Session, questionnaire: Questionnaire, user_id: int) -> bool:
    return (
        session.scalar(
            select(SurveyParticipation.id).where(
                SurveyParticipation.questionnaire_id == questionnaire.id,
                SurveyParticipation.user_id == user_id,
            )
        )
        is not None
    )


def find_draft(
    session: Session, questionnaire: Questionnaire, respondent: Respondent
) -> SurveyDraft | None:
    query = select(SurveyDraft).where(SurveyDraft.questionnaire_id == questionnaire.id)
    if respondent.user_id is not None:
        query = query.where(SurveyDraft.user_id == respondent.user_id)
    else:
        query = query.where(SurveyDraft.access_code_id == respondent.access_code_id)
    return session.scalar(query)


def start(
    session: Session, questionnaire: Questionnaire, respondent: Respondent, now: datetime
) -> SurveyDraft:
    check_can_answer(session, questionnaire, respondent, now)
    draft = find_draft(session, questionnaire, respondent)
    if draft is None:
        draft = SurveyDraft(
            questionnaire_id=questionnaire.id,
            user_id=respondent.user_id,
            access_code_id=respondent.access_code_id,
            answers={},
            page=0,
        )
        session.add(draft)
        session.flush()
    return draft


# --- Pages ---------------------------------------------------------------------------------------


def pages(questionnaire: Questionnaire, respondent: Respondent, answers: dict[str, Any]):
    return engine.visible_sections(questionnaire.definition, respondent.audience, answers)


def shown_questions(
    section: engine.Section, definition: engine.Definition, audience: str, answers: dict[str, Any]
) -> list[engine.Question]:
    """Questions to render on a page. A condition on a question of the same page cannot be
    known before the page is sent, so those are shown (the script hides them live) and the
    server drops their answers if the condition turns out false."""
    pruned = engine.prune(definition, audience, answers)
    on_page = {q.code for q in section.questions}
    shown = []
    for question in section.questions:
        cond = question.condition
        if (
            cond is None
            or engine.evaluate(cond, pruned)
            or set(engine.condition_codes(cond)) & on_page
        ):
            shown.append(question)
    return shown


def save_page(
    session: Session,
    questionnaire: Questionnaire,
    respondent: Respondent,
    draft: SurveyDraft,
    section: engine.Section,
    form: Any,
    require_complete: bool,
    now: datetime,
) -> dict[str, str]:
    """Merge one page's answers into the draft. Returns {code: French error}; on any error
    nothing is changed. ``form`` is a MultiDict (request.form)."""
    check_can_answer(session, questionnaire, respondent, now)
    definition = questionnaire.definition
    merged = dict(draft.answers or {})
    errors: dict[str, str] = {}
    for question in section.questions:
        try:
            value = engine.clean_answer(question, form.getlist(f"q_{question.code}"))
        except engine.AnswerError as exc:
            errors[question.code] = str(exc)
            continue
        if value is None:
            merged.pop(question.code, None)
        else:
            merged[question.code] = value
    pruned = engine.prune(definition, respondent.audience, merged)
    visible = {q.code for q in engine.visible_questions(definition, respondent.audience, pruned)}
    errors = {code: message for code, message in errors.items() if code in visible}
    if require_complete:
        for question in section.questions:
            if question.code in visible and question.required and question.code not in pruned:
                errors.setdefault(question.code, "Cette question est obligatoire.")
    if errors:
        return errors
    draft.answers = pruned
    draft.updated_at = now
    session.flush()
    return {}


# --- Submission ----------------------------------------------------------------------------------


def submit(
    session: Session,
    questionnaire: Questionnaire,
    respondent: Respondent,
    draft: SurveyDraft,
    now: datetime,
) -> SurveyResponse:
    """Turn the draft into an anonymous response. The caller commits; an IntegrityError then
    means a second submission raced this one."""
    check_can_answer(session, questionnaire, respondent, now)
    definition = questionnaire.definition
    answers, errors = engine.validate_all(definition, respondent.audience, draft.answers or {})
    if errors:
        raise SurveyError(
            "Il manque des réponses obligatoires : " + ", ".join(sorted(errors)) + ".", 422
        )
    if respondent.access_code_id is not None:
        # Single use, even against two tabs: only one UPDATE can flip used_at.
        used = session.execute(
            update(AccessCode)
            .where(AccessCode.id == respondent.access_code_id, AccessCode.used_at.is_(None))
            .values(used_at=now)
        )
        if used.rowcount != 1:
            raise SurveyError("Ce code d'accès a déjà servi.")
    else:
        session.add(
            SurveyParticipation(
                questionnaire_id=questionnaire.id, user_id=respondent.user_id, submitted_at=now
            )
        )
    free_text = [
        answers[q.code] for q in definition.questions if q.is_free_text and q.code in answers
    ]
    response = SurveyResponse(
        questionnaire_id=questionnaire.id,
        submitted_at=now,
        answers=answers,
        author_audience=respondent.audience,
        author_academie_code=respondent.academie_code,
        has_personal_data=any(find_personal_data(t) for t in free_text),
        via_code=respondent.access_code_id is not None,
    )
    session.add(response)
    session.execute(delete(SurveyDraft).where(SurveyDraft.id == draft.id))
    session.flush()
    return response


# --- Access codes --------------------------------------------------------------------------------


def normalise_code(raw: str | None) -> str:
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())[:32]


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def create_batch(
    session: Session,
    questionnaire: Questionnaire,
    creator: User,
    *,
    label: str,
    audience: str,
    academie_code: str,
    size: int,
    valid_days: int,
    now: datetime,
    event_id: int | None = None,
) -> AccessCodeBatch:
    """A batch of single-use codes; the permission (coordinator of that académie) is checked
    by the view before calling."""
    if audience not in questionnaire.definition.audiences:
        raise SurveyError("Public inconnu pour ce questionnaire.", 422)
    if academie_code not in catalog().academies:
        raise SurveyError("Académie inconnue.", 422)
    if not 1 <= size <= MAX_BATCH:
        raise SurveyError(f"Un lot compte de 1 à {MAX_BATCH} codes.", 422)
    if not 1 <= valid_days <= MAX_CODE_DAYS:
        raise SurveyError(f"Un code est valable de 1 à {MAX_CODE_DAYS} jours.", 422)
    if now >= questionnaire.closes_at:
        raise SurveyError("Le questionnaire est clos : plus de codes d'accès.", 403)
    batch = AccessCodeBatch(
        questionnaire_id=questionnaire.id,
        label=label.strip(),
        audience=audience,
        academie_code=academie_code,
        size=size,
        created_by_id=creator.id,
        created_at=now,
        expires_at=min(now + timedelta(days=valid_days), questionnaire.closes_at),
        event_id=event_id,
    )
    session.add(batch)
    session.flush()
    codes: set[str] = set()
    while len(codes) < size:
        codes.add(_new_code())
    # 31^10 ≈ 8·10^14: a collision with an existing code is astronomically rare, and the
    # unique constraint turns it into a clean 409 rather than a duplicate.
    session.add_all(AccessCode(batch_id=batch.id, code=code) for code in sorted(codes))
    session.flush()
    return batch


def redeem(session: Session, raw: str, now: datetime) -> AccessCode:
    """The code behind what a participant typed, if it can still be used."""
    code = normalise_code(raw)
    if len(code) != CODE_LENGTH:
        raise SurveyError("Ce code d'accès n'existe pas. Vérifiez-le sur votre feuille.", 404)
    access = session.scalar(select(AccessCode).where(AccessCode.code == code))
    if access is None:
        raise SurveyError("Ce code d'accès n'existe pas. Vérifiez-le sur votre feuille.", 404)
    if access.used_at is not None:
        raise SurveyError("Ce code d'accès a déjà servi.", 409)
    if now >= access.batch.expires_at:
        raise SurveyError("Ce code d'accès a expiré.", 410)
    return access


def code_in_use(session: Session, code_id: Any, now: datetime) -> AccessCode | None:
    """The access code remembered in the browser session, while it is still usable."""
    if not isinstance(code_id, int):
        return None
    access = session.get(AccessCode, code_id)
    if access is None or access.used_at is not None or now >= access.batch.expires_at:
        return None
    return access


def batches_for(session: Session, user: User, is_admin: bool) -> list[AccessCodeBatch]:
    query = select(AccessCodeBatch).order_by(AccessCodeBatch.created_at.desc()).limit(200)
    if not is_admin:
        query = query.where(AccessCodeBatch.created_by_id == user.id)
    return list(session.scalars(query))


def user_audience_has_track(user: User) -> bool:
    return Audience(user.audience).has_questionnaire_track


# --- Account hooks -------------------------------------------------------------------------------


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """What the platform holds about the user here: participations and drafts, never the
    submitted answers (they are no longer linked to the account)."""
    rows = session.execute(
        select(Questionnaire.title, SurveyParticipation.submitted_at)
        .join(Questionnaire, Questionnaire.id == SurveyParticipation.questionnaire_id)
        .where(SurveyParticipation.user_id == user.id)
    ).all()
    drafts = session.execute(
        select(Questionnaire.title, SurveyDraft.answers, SurveyDraft.updated_at)
        .join(Questionnaire, Questionnaire.id == SurveyDraft.questionnaire_id)
        .where(SurveyDraft.user_id == user.id)
    ).all()
    return {
        "questionnaire": {
            "reponses_envoyees": [
                {"questionnaire": title, "envoyee_le": when.isoformat()} for title, when in rows
            ],
            "brouillons": [
                {"questionnaire": title, "reponses": answers, "modifie_le": when.isoformat()}
                for title, answers, when in drafts
            ],
        }
    }


def erase_account(session: Session, user: User) -> None:
    """Drafts are personal and go; submitted responses were anonymous already and stay."""
    session.execute(delete(SurveyDraft).where(SurveyDraft.user_id == user.id))
    session.execute(
        update(AccessCodeBatch)
        .where(AccessCodeBatch.created_by_id == user.id)
        .values(created_by_id=None)
    )


def event_batches(session: Session, event_id: int) -> list[tuple[AccessCodeBatch, int]]:
    """The code batches of one meeting with how many of their codes were used (paper
    questionnaires typed in)."""
    from sqlalchemy import func

    used = (
        select(func.count(AccessCode.id))
        .where(AccessCode.batch_id == AccessCodeBatch.id, AccessCode.used_at.is_not(None))
        .correlate(AccessCodeBatch)
        .scalar_subquery()
    )
    return [
        (batch, int(count or 0))
        for batch, count in session.execute(
            select(AccessCodeBatch, used)
            .where(AccessCodeBatch.event_id == event_id)
            .order_by(AccessCodeBatch.id)
        )
    ]
