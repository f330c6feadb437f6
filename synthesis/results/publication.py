"""Publication: the draft frozen as a numbered version with its suppressed figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import Role, User
from consult.territories import Scope, catalog
from consult.web import audit
from synthesis import catalog as tables
from synthesis.results.base import LABELS_KEY, SURVEY_FIGURES, ResultsError
from synthesis.results.figures import format_number
from synthesis.results.reading import draft_of
from synthesis.results.sources import resolve_source
from synthesis.results_models import (
    QUESTION,
    SynthesisProposal,
    SynthesisPublication,
    SynthesisSource,
)


def _finding(distribution: Any, key: str, option: str | None) -> str:
    """The national or territorial figure of a questionnaire finding, as published."""
    if distribution is None or distribution.empty or option is None:
        return ""
    rows = distribution[
        (distribution["question_key"].astype(str) == key)
        & (distribution["option_key"].astype(str) == option)
        & (distribution["audience"].astype(str) == tables.ALL)
    ]
    if rows.empty:
        return ""
    row = rows.iloc[0]
    if bool(row.get("suppressed", False)) or pd.isna(row["share"]) or pd.isna(row["base"]):
        return _("moins de 10 répondants")
    share, base = float(row["share"]), int(row["base"])
    return _(
        "%(share)s des répondants (base : %(base)s)",
        share=f"{format_number(share * 100, 1)}\u202f%",
        base=format_number(base),
    )


def _frozen_labels(session: Session) -> dict[str, dict[str, str]]:
    """Theme, sub-theme and answer labels as they are at publication, so the tables of a
    version keep reading the same even if a title is reworded later."""
    from forums.models import SubTheme, Theme
    from surveys.services import current_questionnaire

    labels: dict[str, dict[str, str]] = {"theme_slug": {}, "subtheme_slug": {}, "option_key": {}}
    for theme in session.scalars(select(Theme)):
        labels["theme_slug"][theme.slug] = theme.title
    for sub, theme_slug in session.execute(
        select(SubTheme, Theme.slug).join(Theme, SubTheme.theme_id == Theme.id)
    ):
        labels["subtheme_slug"][f"{theme_slug}/{sub.slug}"] = sub.title
    questionnaire = current_questionnaire(session)
    if questionnaire is not None:
        for question in questionnaire.definition.questions:
            for option in question.options:
                labels["option_key"][f"{question.code}:{option.value}"] = option.label
    return labels


def _public_tables(
    session: Session, info: Scope, compilation: Any, names: list[str]
) -> dict[str, pd.DataFrame] | None:
    """The suppressed form of only the tables a publication needs (``store.load`` suppresses
    all of them, which at national scale costs seconds for tables nobody chose)."""
    from synthesis import store

    row = (
        store.scope_row(session, info.kind, info.code, compilation)
        if compilation is not None
        else None
    )
    if row is None:
        return None
    return {name: store.public_table(row, name) for name in dict.fromkeys(names)}


def publish(session: Session, info: Scope, user: User) -> SynthesisPublication:
    """Freeze the draft as version N+1 (and retire the draft): text, proposals, sources
    re-checked and relabelled, figures suppressed for the public. Raises before writing
    anything that could be left half-done; the caller commits once (a racing publication of
    the same number fails on the unique constraint and commits nothing)."""
    from synthesis import store

    draft = draft_of(session, info)
    if draft is None:
        raise ResultsError(_("Il n'y a pas de brouillon à publier pour ce territoire."), 409)
    if not draft.title.strip():
        raise ResultsError(_("Donnez un titre à la synthèse avant de la publier."), 422)
    if not draft.proposals:
        raise ResultsError(_("Ajoutez au moins une proposition avant de publier."), 422)
    compilation = store.latest(session)
    names = list(draft.figure_names)
    if SURVEY_FIGURES & set(names):
        names.append("survey_questions")
    # The findings of questionnaire sources read the distribution even when it is not shown.
    wanted = [*names, "survey_distribution"]
    public_tables = _public_tables(session, info, compilation, wanted)
    if draft.figure_names and public_tables is None:
        raise ResultsError(
            _(
                "Aucune compilation des synthèses n'est disponible pour ce territoire : "
                "recompilez avant de publier des tableaux, ou décochez-les."
            ),
            409,
        )
    figures: dict[str, Any] = {}
    if public_tables is not None and names:
        figures = {name: store.to_payload(public_tables[name]) for name in names}
        figures[LABELS_KEY] = _frozen_labels(session)
    distribution = public_tables.get("survey_distribution") if public_tables else None

    number = (
        session.scalar(
            select(func.max(SynthesisPublication.version)).where(
                SynthesisPublication.scope_kind == info.kind,
                SynthesisPublication.scope_code == info.code,
            )
        )
        or 0
    ) + 1
    now = utcnow()
    version = SynthesisPublication(
        scope_kind=info.kind,
        scope_code=info.code,
        version=number,
        title=draft.title,
        introduction=draft.introduction,
        conclusion=draft.conclusion,
        figure_names=list(draft.figure_names),
        figures=figures,
        compilation_id=compilation.id if compilation is not None and figures else None,
        compiled_at=compilation.finished_at if compilation is not None and figures else None,
        created_at=now,
        updated_at=now,
        updated_by_id=user.id,
        published_at=now,
        published_by_id=user.id,
        publisher_role=_acting_role(user, info),
    )
    for proposal in sorted(draft.proposals, key=lambda p: (p.position, p.id)):
        copy = SynthesisProposal(
            theme_slug=proposal.theme_slug,
            theme_title=proposal.theme_title,
            position=proposal.position,
            title=proposal.title,
            text=proposal.text,
        )
        for src in proposal.sources:
            # Re-checked now: an item hidden or withdrawn since it was added blocks publication.
            try:
                spec = resolve_source(
                    session,
                    info,
                    src.kind,
                    src.question_key if src.kind == QUESTION else str(src.target_id),
                    src.option_key,
                )
            except ResultsError as exc:
                raise ResultsError(
                    _(
                        "Proposition « %(title)s » : %(problem)s Retirez cette source avant de "
                        "publier.",
                        title=proposal.title,
                        problem=exc.message,
                    ),
                    422,
                ) from None
            copy.sources.append(
                SynthesisSource(
                    kind=spec.kind,
                    target_id=spec.target_id,
                    question_key=spec.question_key,
                    option_key=spec.option_key,
                    label=spec.label,
                    url=spec.url,
                    finding=_finding(distribution, src.question_key, src.option_key)
                    if spec.kind == QUESTION
                    else "",
                )
            )
        version.proposals.append(copy)
    session.add(version)
    # The draft became the version; the next one starts from it (start_draft).
    session.delete(draft)
    session.flush()
    audit(
        session,
        user,
        "synthesis.publish",
        "synthesis_publication",
        version.id,
        scope_kind=info.kind,
        scope_code=info.code,
        version=number,
        proposals=len(version.proposals),
        figures=names if figures else [],
        compilation_id=version.compilation_id,
    )
    session.flush()
    return version


def freeze_pdf(session: Session, version: SynthesisPublication, data: bytes) -> None:
    """Store the version's PDF, once: a published version's PDF never changes."""
    if version.is_draft or version.pdf is not None:
        raise ResultsError(_("Une version publiée ne se modifie pas."), 409)
    version.pdf = data
    session.flush()


def _acting_role(user: User, info: Scope) -> str:
    """The role shown as publisher: a territory's coordination when the user holds a
    coordinator grant covering it, else analyst (national) or the platform's administration."""
    if info.kind == "national":
        return Role.ANALYST.value if user.has_role(Role.ANALYST) else Role.ADMIN.value
    region = catalog().region_of(info.code) if info.kind == "academie" else info.code
    for grant in user.grants:
        if grant.role != Role.COORDINATOR:
            continue
        if (grant.scope_kind, grant.scope_code) in ((info.kind, info.code), ("region", region)):
            return Role.COORDINATOR.value
    return Role.ADMIN.value
