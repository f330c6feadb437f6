"""Sources cited by a proposal: parsed from a reference or URL, checked public and in the
territory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.models import User
from consult.territories import Scope
from synthesis.results.base import ResultsError
from synthesis.results.drafting import _editable, _touch
from synthesis.results.scopes import scope
from synthesis.results_models import (
    LABEL_MAX,
    SourceKind,
    SynthesisProposal,
    SynthesisSource,
)

REF_RE = re.compile(
    r"^(contribution|idee|idée|idea|retex|question)\s*[:#]\s*([A-Za-z0-9_\-]+)(?::([A-Za-z0-9_\-]+))?$",
    re.IGNORECASE,
)
PATHS = (
    (re.compile(r"^/forums/contributions/(\d+)/?$"), SourceKind.CONTRIBUTION),
    (re.compile(r"^/territoires/idees/(\d+)/?$"), SourceKind.IDEA),
    (re.compile(r"^/retex/(\d+)(?:/versions(?:/\d+)?)?/?$"), SourceKind.RETEX),
)
# The /syntheses/ pages title each question's block « question-<key>-title » (charts.py).
QUESTION_FRAGMENT_RE = re.compile(r"^question-([A-Za-z0-9_]+)(?:-title|-table)?$")
KIND_ALIASES = {"idée": "idee", "idea": "idee"}


@dataclass
class SourceSpec:
    kind: SourceKind
    target_id: int | None
    question_key: str | None
    option_key: str | None
    label: str
    url: str


def parse_reference(raw: str, host: str | None = None) -> tuple[SourceKind, str, str | None]:
    """« contribution:123 », « idee:45 », « retex:7 », « question:C01[:option] » or a page URL
    of this site → (kind, key, option)."""
    value = (raw or "").strip()
    unknown = ResultsError(
        _(
            "Source non reconnue : collez l'adresse d'une contribution, d'une idée ou d'une "
            "fiche Retex, ou écrivez « contribution:123 », « idee:45 », « retex:7 » ou "
            "« question:C01 »."
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


def _territory_check(info: Scope, academie_code: str | None, what: str) -> None:
    if info.kind == "national":
        return
    if academie_code not in info.academie_codes:
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
    session: Session, info: Scope, kind: SourceKind, key: str, option: str | None
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
        return SourceSpec(
            kind, item.id, None, None, _short(item.title), f"/forums/contributions/{item.id}"
        )
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


def _question_source(session: Session, info: Scope, key: str, option: str | None) -> SourceSpec:
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
    info = scope(draft.scope_kind, draft.scope_code)
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
