"""The scope's one working draft: its text and proposals."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import User
from consult.territories import Scope
from consult.text import find_personal_data
from synthesis.results.base import FIGURES, ResultsError
from synthesis.results.reading import draft_of, latest, themes
from synthesis.results_models import (
    DRAFT,
    PROPOSAL_TEXT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    SynthesisProposal,
    SynthesisPublication,
    SynthesisSource,
)


def _copy_proposals(source: SynthesisPublication, target: SynthesisPublication) -> None:
    for proposal in source.proposals:
        copy = SynthesisProposal(
            theme_slug=proposal.theme_slug,
            theme_title=proposal.theme_title,
            position=proposal.position,
            title=proposal.title,
            text=proposal.text,
        )
        for src in proposal.sources:
            copy.sources.append(
                SynthesisSource(
                    kind=src.kind,
                    target_id=src.target_id,
                    question_key=src.question_key,
                    option_key=src.option_key,
                    label=src.label,
                    url=src.url,
                    finding=src.finding,
                )
            )
        target.proposals.append(copy)


def start_draft(session: Session, info: Scope, user: User) -> SynthesisPublication:
    """The scope's working draft; a new one starts from the latest published version."""
    draft = draft_of(session, info)
    if draft is not None:
        return draft
    base = latest(session, info)
    draft = SynthesisPublication(
        scope_kind=info.kind,
        scope_code=info.code,
        version=DRAFT,
        title=base.title if base else info.title,
        introduction=base.introduction if base else "",
        conclusion=base.conclusion if base else "",
        figure_names=list(base.figure_names) if base else [],
        figures={},
        updated_by_id=user.id,
    )
    if base is not None:
        _copy_proposals(base, draft)
    session.add(draft)
    session.flush()
    return draft


def _touch(draft: SynthesisPublication, user: User) -> None:
    draft.updated_at = utcnow()
    draft.updated_by_id = user.id


def _check_text(value: str, field: str, limit: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ResultsError(_("Ce champ est obligatoire."), 422, field)
    if len(value) > limit:
        raise ResultsError(
            _("%(n)d caractères au plus.", n=limit),
            422,
            field,
        )
    if find_personal_data(value):
        raise ResultsError(
            _(
                "Une synthèse publique ne contient ni adresse électronique ni numéro de "
                "téléphone : retirez-les du texte."
            ),
            422,
            field,
        )
    return value


def save_text(
    session: Session,
    draft: SynthesisPublication,
    user: User,
    *,
    title: str,
    introduction: str,
    conclusion: str,
    figure_names: list[str],
) -> None:
    unknown = [n for n in figure_names if n not in FIGURES]
    if unknown:
        raise ResultsError(_("Tableau inconnu."), 422, "figures")
    draft.title = _check_text(title, "title", TITLE_MAX, required=True)
    draft.introduction = _check_text(introduction, "introduction", TEXT_MAX)
    draft.conclusion = _check_text(conclusion, "conclusion", TEXT_MAX)
    draft.figure_names = [n for n in FIGURES if n in set(figure_names)]
    _touch(draft, user)
    session.flush()


def _theme_title(session: Session, slug: str) -> str:
    for theme_slug, title in themes(session):
        if theme_slug == slug:
            return title
    raise ResultsError(_("Thème inconnu."), 422, "theme")


def add_proposal(
    session: Session,
    draft: SynthesisPublication,
    user: User,
    *,
    theme: str,
    title: str,
    text: str,
    position: int | None,
) -> SynthesisProposal:
    proposal = SynthesisProposal(theme_slug=theme, theme_title=_theme_title(session, theme))
    _fill_proposal(proposal, title, text, position, len(draft.proposals) + 1)
    draft.proposals.append(proposal)
    _touch(draft, user)
    session.flush()
    return proposal


def update_proposal(
    session: Session,
    proposal: SynthesisProposal,
    user: User,
    *,
    theme: str,
    title: str,
    text: str,
    position: int | None,
) -> None:
    _editable(proposal.publication)
    proposal.theme_title = _theme_title(session, theme)
    proposal.theme_slug = theme
    _fill_proposal(proposal, title, text, position, proposal.position)
    _touch(proposal.publication, user)
    session.flush()


def _fill_proposal(
    proposal: SynthesisProposal, title: str, text: str, position: int | None, default: int
) -> None:
    proposal.title = _check_text(title, "title", TITLE_MAX, required=True)
    proposal.text = _check_text(text, "text", PROPOSAL_TEXT_MAX, required=True)
    proposal.position = position if position is not None else default


def delete_proposal(session: Session, proposal: SynthesisProposal, user: User) -> None:
    draft = _editable(proposal.publication)
    draft.proposals.remove(proposal)
    _touch(draft, user)
    session.flush()


def _editable(publication: SynthesisPublication) -> SynthesisPublication:
    # Views only reach draft rows; this guards published versions against any other caller.
    if not publication.is_draft:
        raise ResultsError(_("Une version publiée ne se modifie pas."), 409)
    return publication
