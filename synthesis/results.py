"""Results space logic: drafting a scope's synthesis, proposals and their sources, publication of
frozen versions, and the display form of the figures they carry.

Functions take the session and never commit; the view commits once. Every refusal is a
:class:`ResultsError` carrying a French message and its HTTP status, raised before anything is
written or inside the view's single transaction, so a refused publication publishes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from consult import csvout
from consult.db import utcnow
from consult.models import AUDIENCE_PLURALS, Audience, Role, User
from consult.territories import academie_label, catalog
from consult.text import find_personal_data
from consult.web import ConsultError, audit
from synthesis import catalog as tables
from synthesis import privacy
from synthesis.results_models import (
    DRAFT,
    LABEL_MAX,
    PROPOSAL_TEXT_MAX,
    TEXT_MAX,
    TITLE_MAX,
    SourceKind,
    SynthesisProposal,
    SynthesisPublication,
    SynthesisSource,
)

# Tables a composer may put in a synthesis, in catalogue order. The question labels are not a
# figure: they come along automatically with the questionnaire tables.
FIGURES: tuple[str, ...] = tuple(n for n in tables.TABLE_NAMES if n != "survey_questions")
SURVEY_FIGURES = {"survey_distribution", "survey_territory"}
# Rows shown per figure on the page and in the PDF; the whole table is in its CSV download.
DISPLAY_ROWS = 200
# The PDF is a document, not a data file: fewer rows, and the link to the full CSV.
PDF_ROWS = 60
SUPPRESSED = csvout.SUPPRESSED_TEXT
# Display labels frozen with a version's figures (not a table: never offered for download).
LABELS_KEY = "_labels"


class ResultsError(ConsultError):
    """A refusal the view shows in French with the given HTTP status."""

    status = 422


# --- Scopes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeInfo:
    kind: str
    code: str

    @property
    def key(self) -> str:
        """The scope in composer URLs: ``nationale``, ``academie-13``, ``region-75``."""
        return "nationale" if self.kind == "national" else f"{self.kind}-{self.code}"

    @property
    def name(self) -> str:
        cat = catalog()
        if self.kind == "region":
            return _("Région académique %(name)s", name=cat.regions[self.code].name)
        if self.kind == "academie":
            return academie_label(cat.academies[self.code].name)
        return _("France entière")

    @property
    def title(self) -> str:
        if self.kind == "national":
            return _("Synthèse nationale")
        return _("Synthèse : %(territory)s", territory=self.name)

    @property
    def slug(self) -> str:
        cat = catalog()
        if self.kind == "region":
            return cat.regions[self.code].slug
        if self.kind == "academie":
            return cat.academies[self.code].slug
        return ""

    @property
    def synthesis_path(self) -> str:
        """The compiled figures of this scope on /syntheses/ (pages helper's URLs)."""
        if self.kind == "region":
            return f"/syntheses/region/{self.slug}/"
        if self.kind == "academie":
            return f"/syntheses/{self.slug}/"
        return "/syntheses/"

    def academie_codes(self) -> set[str]:
        cat = catalog()
        if self.kind == "region":
            return set(cat.regions[self.code].academie_codes)
        if self.kind == "academie":
            return {self.code}
        return set(cat.academies)


def scope(kind: str, code: str = "") -> ScopeInfo:
    """A known scope or ResultsError 404 (unknown territory)."""
    try:
        found = tables.resolve_scope(kind, code or "")
    except tables.UnknownScope:
        raise ResultsError(_("Territoire inconnu."), 404) from None
    return ScopeInfo(found.kind, found.code)


def scope_from_key(key: str) -> ScopeInfo:
    if key == "nationale":
        return scope("national", "")
    kind, _sep, code = key.partition("-")
    if kind not in ("region", "academie") or not code:
        raise ResultsError(_("Territoire inconnu."), 404)
    return scope(kind, code)


def scope_from_slug(kind: str, slug: str) -> ScopeInfo:
    cat = catalog()
    if kind == "national":
        return ScopeInfo("national", "")
    found = cat.region_by_slug(slug) if kind == "region" else cat.academie_by_slug(slug)
    if found is None:
        raise ResultsError(_("Territoire inconnu."), 404)
    return ScopeInfo(kind, found.code)


def all_scopes() -> list[ScopeInfo]:
    return [ScopeInfo(s.kind, s.code) for s in tables.all_scopes()]


def composable_scopes(user: User | None) -> list[ScopeInfo]:
    from synthesis.permissions import may_compose

    return [s for s in all_scopes() if may_compose(user, s.kind, s.code)]


def publisher_label(publication: SynthesisPublication) -> str:
    """The publisher by role and territory, never by name (see the model)."""
    if publication.scope_kind == "national" or publication.publisher_role != Role.COORDINATOR:
        if publication.publisher_role == Role.ADMIN:
            return _("Administration de la plateforme")
        return _("Analyste")
    info = ScopeInfo(publication.scope_kind, publication.scope_code)
    if info.kind == "region":
        return _(
            "Coordination de la région académique %(name)s", name=catalog().regions[info.code].name
        )
    return _("Coordination académique : %(name)s", name=info.name)


# --- Reading ----------------------------------------------------------------------------------


def _versions_query(kind: str, code: str):
    return select(SynthesisPublication).where(
        SynthesisPublication.scope_kind == kind, SynthesisPublication.scope_code == code
    )


def draft_of(session: Session, info: ScopeInfo) -> SynthesisPublication | None:
    return session.scalar(
        _versions_query(info.kind, info.code).where(SynthesisPublication.version == DRAFT)
    )


def drafts_by_scope(session: Session) -> dict[tuple[str, str], SynthesisPublication]:
    rows = session.scalars(
        select(SynthesisPublication).where(SynthesisPublication.version == DRAFT)
    )
    return {(p.scope_kind, p.scope_code): p for p in rows}


def versions(session: Session, info: ScopeInfo) -> list[SynthesisPublication]:
    """Published versions, newest first."""
    return list(
        session.scalars(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.is_public)
            .order_by(SynthesisPublication.version.desc())
        )
    )


# A version's page shows every proposal with its sources: two queries, not one per proposal.
_WITH_PROPOSALS = selectinload(SynthesisPublication.proposals).selectinload(
    SynthesisProposal.sources
)


def latest(session: Session, info: ScopeInfo) -> SynthesisPublication | None:
    return mark_removed_sources(
        session,
        session.scalar(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.is_public)
            .order_by(SynthesisPublication.version.desc())
            .limit(1)
            .options(_WITH_PROPOSALS)
        ),
    )


def published(session: Session, info: ScopeInfo, version: int) -> SynthesisPublication | None:
    if version <= DRAFT:
        return None
    return mark_removed_sources(
        session,
        session.scalar(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.version == version)
            .options(_WITH_PROPOSALS)
        ),
    )


def mark_removed_sources(
    session: Session, publication: SynthesisPublication | None
) -> SynthesisPublication | None:
    """Flag the sources whose item is no longer public (hidden, held, withdrawn since the
    version was published): pages show « contenu retiré par la modération » instead of their
    title and link. The version itself stays frozen: nothing is written. One query per kind."""
    if publication is None:
        return None
    from consult.territorial.models import Idea
    from forums.models import Contribution
    from retex.models import RetexSheet

    models = {
        SourceKind.CONTRIBUTION.value: Contribution,
        SourceKind.IDEA.value: Idea,
        SourceKind.RETEX.value: RetexSheet,
    }
    sources = [
        s
        for p in publication.proposals
        for s in p.sources
        if s.kind in models and s.target_id is not None
    ]
    for kind, model in models.items():
        ids = {s.target_id for s in sources if s.kind == kind}
        if not ids:
            continue
        public = set(
            session.scalars(select(model.id).where(model.id.in_(sorted(ids)), model.is_public))
        )
        for source in sources:
            if source.kind == kind:
                source.removed = source.target_id not in public
    from consult.territorial.models import EventMinutes

    cited = {
        s.target_id
        for p in publication.proposals
        for s in p.sources
        if s.kind == SourceKind.MINUTES.value
    }
    if cited:
        # Minutes go away only with their event (deleted): there is no moderation of them.
        present = set(
            session.scalars(
                select(EventMinutes.event_id).where(EventMinutes.event_id.in_(sorted(cited)))
            )
        )
        for p in publication.proposals:
            for source in p.sources:
                if source.kind == SourceKind.MINUTES.value:
                    source.removed = source.target_id not in present
    return publication


def latest_by_scope(session: Session) -> dict[tuple[str, str], SynthesisPublication]:
    """The newest published version of every scope, in one query."""
    newest = (
        select(
            SynthesisPublication.scope_kind,
            SynthesisPublication.scope_code,
            func.max(SynthesisPublication.version).label("version"),
        )
        .where(SynthesisPublication.is_public)
        .group_by(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
        .subquery()
    )
    rows = session.scalars(
        select(SynthesisPublication).join(
            newest,
            (SynthesisPublication.scope_kind == newest.c.scope_kind)
            & (SynthesisPublication.scope_code == newest.c.scope_code)
            & (SynthesisPublication.version == newest.c.version),
        )
    )
    return {(p.scope_kind, p.scope_code): p for p in rows}


def version_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(
            SynthesisPublication.scope_kind,
            SynthesisPublication.scope_code,
            func.count(),
        )
        .where(SynthesisPublication.is_public)
        .group_by(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
    )
    return {(k, c): n for k, c, n in rows}


def themes(session: Session) -> list[tuple[str, str]]:
    """(slug, title) of the forum themes, in their order."""
    from forums.models import Theme

    return [(t.slug, t.title) for t in session.scalars(select(Theme).order_by(Theme.position))]


def citations(session: Session, kind: str, target_id: int) -> list[SynthesisPublication]:
    """The published syntheses whose latest version cites this contribution, idea or Retex
    sheet: traceability from what people wrote to the proposals it fed."""
    rows = session.execute(
        select(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
        .join(SynthesisProposal, SynthesisProposal.publication_id == SynthesisPublication.id)
        .join(SynthesisSource, SynthesisSource.proposal_id == SynthesisProposal.id)
        .where(
            SynthesisSource.kind == kind,
            SynthesisSource.target_id == target_id,
            SynthesisPublication.is_public,
        )
        .distinct()
    ).all()
    found = []
    for scope_kind, scope_code in rows:
        current = latest(session, ScopeInfo(scope_kind, scope_code))
        cited = current is not None and any(
            s.kind == kind and s.target_id == target_id
            for p in current.proposals
            for s in p.sources
        )
        if cited:
            found.append(current)
    order = {"national": 0, "region": 1, "academie": 2}
    return sorted(found, key=lambda p: (order.get(p.scope_kind, 3), p.scope_code))


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """The account export: the versions this person published (the public pages name the
    role, not the person; the link is kept for the audit trail and shown only to them)."""
    rows = session.scalars(
        select(SynthesisPublication)
        .where(SynthesisPublication.published_by_id == user.id)
        .order_by(SynthesisPublication.published_at)
    )
    return {
        "synthesis_publications": [
            {
                "scope_kind": p.scope_kind,
                "scope_code": p.scope_code,
                "version": p.version,
                "title": p.title,
                "published_at": p.published_at.isoformat(timespec="seconds"),
            }
            for p in rows
        ]
    }


# --- Drafting ---------------------------------------------------------------------------------


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


def start_draft(session: Session, info: ScopeInfo, user: User) -> SynthesisPublication:
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


# --- Sources ----------------------------------------------------------------------------------

REF_RE = re.compile(
    r"^(contribution|idee|idée|idea|retex|question|compte_rendu|compte-rendu|rencontre)"
    r"\s*[:#]\s*([A-Za-z0-9_\-]+)(?::([A-Za-z0-9_\-]+))?$",
    re.IGNORECASE,
)
PATHS = (
    (re.compile(r"^/forums/contributions/(\d+)/?$"), SourceKind.CONTRIBUTION),
    (re.compile(r"^/territoires/idees/(\d+)/?$"), SourceKind.IDEA),
    (re.compile(r"^/retex/(\d+)(?:/versions(?:/\d+)?)?/?$"), SourceKind.RETEX),
    # An event page cites its minutes (« #compte-rendu » or not).
    (re.compile(r"^/territoires/evenements/(\d+)/?$"), SourceKind.MINUTES),
)
# The /syntheses/ pages title each question's block « question-<key>-title » (charts.py).
QUESTION_FRAGMENT_RE = re.compile(r"^question-([A-Za-z0-9_]+)(?:-title|-table)?$")
KIND_ALIASES = {
    "idée": "idee",
    "idea": "idee",
    "compte-rendu": "compte_rendu",
    "rencontre": "compte_rendu",
}


@dataclass
class SourceSpec:
    kind: SourceKind
    target_id: int | None
    question_key: str | None
    option_key: str | None
    label: str
    url: str


def parse_reference(raw: str, host: str | None = None) -> tuple[SourceKind, str, str | None]:
    """« contribution:123 », « idee:45 », « retex:7 », « question:C01[:option] »,
    « compte_rendu:12 » (the minutes of event 12) or a page URL of this site → (kind, key,
    option)."""
    value = (raw or "").strip()
    unknown = ResultsError(
        _(
            "Source non reconnue : collez l'adresse d'une contribution, d'une idée, d'une "
            "fiche Retex ou d'une rencontre, ou écrivez « contribution:123 », « idee:45 », "
            "« retex:7 », « compte_rendu:12 » ou « question:C01 »."
        ),
        422,
        "reference",
    )
    if not value or len(value) > 300:
        raise unknown
    match = REF_RE.match(value)
    if match:
        kind = KIND_ALIASES.get(match.group(1).lower(), match.group(1).lower())
        if kind != SourceKind.QUESTION and (match.group(3) or not match.group(2).isdigit()):
            raise unknown
        return SourceKind(kind), match.group(2), match.group(3)
    parts = urlsplit(value)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != host):
        raise unknown
    for pattern, kind in PATHS:
        found = pattern.match(parts.path)
        if found:
            return kind, found.group(1), None
    fragment = QUESTION_FRAGMENT_RE.match(parts.fragment or "")
    if parts.path.startswith("/syntheses/") and fragment:
        return SourceKind.QUESTION, fragment.group(1), None
    raise unknown


def _gone(what: str) -> ResultsError:
    return ResultsError(what, 422, "reference")


def _territory_check(info: ScopeInfo, academie_code: str | None, what: str) -> None:
    if info.kind == "national":
        return
    if academie_code not in info.academie_codes():
        raise _gone(
            _(
                "%(what)s n'appartient pas au territoire de cette synthèse : une synthèse "
                "territoriale ne cite que les idées et fiches Retex de son territoire.",
                what=what,
            )
        )


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def resolve_source(
    session: Session, info: ScopeInfo, kind: SourceKind, key: str, option: str | None
) -> SourceSpec:
    """Check that the item exists, is public and may be cited by this scope's synthesis.

    Territorial syntheses may cite any forum contribution (the forums are national) and any
    questionnaire question, but only the ideas and Retex sheets of their own territory.
    """
    if kind is SourceKind.CONTRIBUTION:
        from forums.models import Contribution

        item = session.get(Contribution, int(key))
        if item is None or not item.is_public:
            raise _gone(_("La contribution n°%(id)s n'existe pas ou n'est pas publique.", id=key))
        label = item.title
        if item.meeting_event_id is not None and item.meeting_event is not None:
            label = _(
                "%(title)s (recueillie lors de la rencontre « %(event)s »)",
                title=item.title,
                event=item.meeting_event.title,
            )
        return SourceSpec(
            kind, item.id, None, None, _short(label), f"/forums/contributions/{item.id}"
        )
    if kind is SourceKind.MINUTES:
        return _minutes_source(session, info, int(key))
    if kind is SourceKind.IDEA:
        from consult.territorial.models import Idea

        item = session.get(Idea, int(key))
        if item is None or not item.is_public:
            raise _gone(_("L'idée n°%(id)s n'existe pas ou n'est pas publique.", id=key))
        what = _("L'idée n°%(id)s", id=key)
        _territory_check(info, item.academie_code, what)
        return SourceSpec(
            kind, item.id, None, None, _short(item.title), f"/territoires/idees/{item.id}"
        )
    if kind is SourceKind.RETEX:
        from retex.models import RetexRevision, RetexSheet

        sheet = session.get(RetexSheet, int(key))
        if sheet is None or not sheet.is_public:
            raise _gone(_("La fiche Retex n°%(id)s n'existe pas ou n'est pas publiée.", id=key))
        revision = session.scalar(
            select(RetexRevision).where(
                RetexRevision.sheet_id == sheet.id,
                RetexRevision.version == sheet.published_version,
            )
        )
        what = _("La fiche Retex n°%(id)s", id=key)
        if info.kind == "region":
            if revision.region_code != info.code:
                _territory_check(info, None, what)
        else:
            _territory_check(info, revision.academie_code, what)
        return SourceSpec(kind, sheet.id, None, None, _short(revision.title), f"/retex/{sheet.id}")
    return _question_source(session, info, key, option)


def _minutes_source(session: Session, info: ScopeInfo, event_id: int) -> SourceSpec:
    """The minutes of a meeting of the synthesis' territory (a national synthesis cites any)."""
    from consult.territorial.models import Event, EventMinutes
    from consult.territories import catalog

    event = session.get(Event, event_id)
    minutes = session.scalar(select(EventMinutes).where(EventMinutes.event_id == event_id))
    if event is None or minutes is None or not minutes.is_public:
        raise _gone(
            _("La rencontre n°%(id)s n'existe pas ou n'a pas de compte rendu publié.", id=event_id)
        )
    if info.kind != "national":
        if event.scope_kind == "academie":
            codes = {event.scope_code}
        elif event.scope_kind == "region" and event.scope_code in catalog().regions:
            codes = set(catalog().regions[event.scope_code].academie_codes)
        else:
            codes = set()
        if not codes or not codes <= set(info.academie_codes()):
            raise _gone(
                _(
                    "La rencontre n°%(id)s n'appartient pas au territoire de cette synthèse.",
                    id=event_id,
                )
            )
    return SourceSpec(
        SourceKind.MINUTES,
        event.id,
        None,
        None,
        _short(_("Compte rendu — %(title)s", title=event.title)),
        f"/territoires/evenements/{event.id}#compte-rendu",
    )


def _question_source(session: Session, info: ScopeInfo, key: str, option: str | None) -> SourceSpec:
    from surveys.services import current_questionnaire

    questionnaire = current_questionnaire(session)
    definition = questionnaire.definition if questionnaire is not None else None
    if definition is None or not definition.has_question(key):
        raise _gone(_("La question %(key)s n'existe pas dans le questionnaire.", key=key))
    question = definition.question(key)
    label = f"{question.code} — {question.text}"
    if option is not None:
        if option not in question.option_values:
            raise _gone(
                _(
                    "La réponse « %(option)s » n'existe pas pour la question %(key)s.",
                    option=option,
                    key=key,
                )
            )
        label += f" : « {question.option_label(option)} »"
    return SourceSpec(
        SourceKind.QUESTION,
        None,
        question.code,
        option,
        _short(label),
        f"{info.synthesis_path}#question-{question.code}-title",
    )


def add_source(
    session: Session,
    proposal: SynthesisProposal,
    user: User,
    raw: str,
    host: str | None = None,
) -> SynthesisSource:
    draft = _editable(proposal.publication)
    info = ScopeInfo(draft.scope_kind, draft.scope_code)
    kind, key, option = parse_reference(raw, host)
    spec = resolve_source(session, info, kind, key, option)
    for existing in proposal.sources:
        if (existing.kind, existing.target_id, existing.question_key, existing.option_key) == (
            spec.kind.value,
            spec.target_id,
            spec.question_key,
            spec.option_key,
        ):
            raise ResultsError(
                _("Cette source est déjà citée par la proposition."), 422, "reference"
            )
    source = SynthesisSource(
        kind=spec.kind.value,
        target_id=spec.target_id,
        question_key=spec.question_key,
        option_key=spec.option_key,
        label=spec.label,
        url=spec.url,
        finding="",
    )
    proposal.sources.append(source)
    _touch(draft, user)
    session.flush()
    return source


def remove_source(session: Session, source: SynthesisSource, user: User) -> None:
    proposal = source.proposal
    draft = _editable(proposal.publication)
    proposal.sources.remove(source)
    _touch(draft, user)
    session.flush()


# --- Publication ------------------------------------------------------------------------------


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
    session: Session, info: ScopeInfo, compilation: Any, names: list[str]
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
    out = {}
    for name in dict.fromkeys(names):
        data = row.payload.get(name) or {"columns": tables.spec(name).column_names, "rows": []}
        out[name] = privacy.suppress(name, store.from_payload(name, data))
    return out


def publish(session: Session, info: ScopeInfo, user: User) -> SynthesisPublication:
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
                    SourceKind(src.kind),
                    src.question_key if src.kind == SourceKind.QUESTION else str(src.target_id),
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
                    kind=spec.kind.value,
                    target_id=spec.target_id,
                    question_key=spec.question_key,
                    option_key=spec.option_key,
                    label=spec.label,
                    url=spec.url,
                    finding=_finding(distribution, src.question_key, src.option_key)
                    if spec.kind is SourceKind.QUESTION
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


def _acting_role(user: User, info: ScopeInfo) -> str:
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


# --- Figures for display ----------------------------------------------------------------------


def format_number(value: float | int, digits: int = 0) -> str:
    text = f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")
    return text


@dataclass
class FigureTable:
    name: str
    title: str
    description: str
    headers: list[str]
    rows: list[list[str]]
    total: int
    suppressed: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _dim_label(
    column: str,
    value: Any,
    questions: dict[str, str],
    frozen: dict[str, dict[str, str]],
    context: dict[str, Any],
) -> str:
    if value is None:
        return "—"
    text = str(value)
    key = {
        "theme_slug": text,
        "subtheme_slug": f"{context.get('theme_slug')}/{text}",
        "option_key": f"{context.get('question_key')}:{text}",
    }.get(column)
    if key is not None and key in frozen.get(column, {}):
        return frozen[column][key]
    if column == "audience":
        if text == tables.ALL:
            return _("Tous publics")
        try:
            return str(AUDIENCE_PLURALS[Audience(text)])
        except ValueError:
            return text
    if column == "academie_code":
        acad = catalog().academies.get(text)
        return acad.name if acad else (_("Toutes") if text == tables.ALL else text)
    if text == tables.ALL:
        return _("Ensemble")
    if column == "indicator":
        return str(tables.INDICATOR_LABELS.get(text, text))
    if column == "ranking":
        return str(tables.RANKING_LABELS.get(text, text))
    if column == "label":
        return str(tables.CONSENSUS_LABELS.get(text, text))
    if column == "corpus":
        return str(tables.CORPUS_LABELS.get(text, text))
    if column == "dimension":
        return str(tables.RETEX_DIMENSION_LABELS.get(text, text))
    if column == "question_key" and text in questions:
        return f"{text} — {questions[text]}"
    return text


def _figure_cell(kind: str, value: Any) -> str:
    if value is None:
        return "—"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if kind == "share":
        return f"{format_number(number * 100, 1)}\u202f%"
    if kind == "score":
        return format_number(number, 3)
    return format_number(number)


def figure_tables(
    figures: dict[str, Any], names: list[str], limit: int | None = DISPLAY_ROWS
) -> list[FigureTable]:
    """The frozen figures as display tables: labels instead of codes, « < 10 » where the
    figure was suppressed for the public."""
    questions: dict[str, str] = {}
    labels = figures.get("survey_questions")
    if labels:
        cols = labels["columns"]
        for row in labels["rows"]:
            record = dict(zip(cols, row, strict=False))
            questions[str(record.get("question_key"))] = str(record.get("label") or "")
    frozen = figures.get(LABELS_KEY) or {}
    result = []
    for name in names:
        data = figures.get(name)
        if name not in tables.TABLES or data is None:
            continue
        spec = tables.spec(name)
        columns = [c for c in data["columns"] if c != "suppressed"]
        index = {c: i for i, c in enumerate(data["columns"])}
        kinds = {c.name: c.kind for c in spec.columns}
        headers = [str(spec.column(c).label) if c in kinds else c for c in columns]
        rows: list[list[str]] = []
        hidden = 0
        all_rows = data["rows"]
        for raw in all_rows:
            is_hidden = "suppressed" in index and bool(raw[index["suppressed"]])
            hidden += is_hidden
            if limit is not None and len(rows) >= limit:
                continue
            cells = []
            context = {c: raw[index[c]] for c in ("theme_slug", "question_key") if c in index}
            for column in columns:
                value = raw[index[column]]
                kind = kinds.get(column, "text")
                if kind in tables.FIGURE_KINDS:
                    cells.append(
                        SUPPRESSED if is_hidden and value is None else _figure_cell(kind, value)
                    )
                elif kind == "dim":
                    cells.append(_dim_label(column, value, questions, frozen, context))
                else:
                    cells.append("—" if value is None else str(value))
            rows.append(cells)
        result.append(
            FigureTable(
                name=name,
                title=str(spec.title),
                description=str(spec.description),
                headers=headers,
                rows=rows,
                total=len(all_rows),
                suppressed=hidden,
            )
        )
    return result


def figure_csv_rows(figures: dict[str, Any], name: str) -> tuple[list[str], list[list[Any]]]:
    """One frozen table as published (suppressed figures empty, a ``suppressed`` column)."""
    data = figures.get(name) if name in tables.TABLES else None
    if data is None:
        raise ResultsError(_("Ce tableau ne fait pas partie de cette version."), 404)
    return list(data["columns"]), list(data["rows"])


def suppressed_cells(columns: list[str], rows: list[list[Any]]) -> Iterator[list[Any]]:
    """Rows for a file: the empty figures of a suppressed row read as the one suppression
    marker every export writes (``csvout.SUPPRESSED_TEXT``)."""
    from consult.csvout import SUPPRESSED_TEXT

    flag = columns.index("suppressed") if "suppressed" in columns else None
    for row in rows:
        if flag is not None and row[flag]:
            yield [SUPPRESSED_TEXT if v is None else v for v in row]
        else:
            yield row


# --- Demo -------------------------------------------------------------------------------------

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


def _demo_publish(session: Session, info: ScopeInfo, user: User) -> None:
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


def _demo_sources(session: Session, info: ScopeInfo) -> list[str]:
    """An idea, a Retex sheet and a questionnaire finding the scope may cite, when they exist."""
    from consult.territorial.models import Idea
    from retex.models import RetexSheet
    from surveys.services import current_questionnaire

    found = []
    idea = session.scalar(
        select(Idea.id)
        .where(
            Idea.is_public,
            Idea.academie_code.in_(info.academie_codes()),
        )
        .order_by(Idea.support_count.desc(), Idea.id)
        .limit(1)
    )
    if idea:
        found.append(f"idee:{idea}")
    sheets = select(RetexSheet.id).where(RetexSheet.is_public)
    if info.kind != "national":
        sheets = sheets.where(RetexSheet.academie_code.in_(info.academie_codes()))
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
