"""Sources cited by a proposal: parsed from a reference or URL, checked public and in the
territory."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from consult import synthesis_registry
from consult.models import User
from consult.territories import Scope
from synthesis.results.base import ResultsError
from synthesis.results.drafting import _editable, _touch
from synthesis.results.scopes import scope
from synthesis.results_models import (
    LABEL_MAX,
    QUESTION,
    SynthesisProposal,
    SynthesisSource,
)

REF_RE = re.compile(
    # A kind is letters, with underscores inside (« compte_rendu »).
    r"^([^\W\d_][^\W\d]*)\s*[:#]\s*([A-Za-z0-9_\-]+)(?::([A-Za-z0-9_\-]+))?$",
    re.IGNORECASE,
)
# The /syntheses/ pages title each question's block « question-<key>-title » (charts.py).
QUESTION_FRAGMENT_RE = re.compile(r"^question-([A-Za-z0-9_]+)(?:-title|-table)?$")


@dataclass
class SourceSpec:
    kind: str  # a registered citable kind, or QUESTION
    target_id: int | None
    question_key: str | None
    option_key: str | None
    label: str
    url: str


def parse_reference(raw: str, host: str | None = None) -> tuple[str, str, str | None]:
    """« contribution:123 », « idee:45 », « retex:7 », « question:C01[:option] » (any kind a
    space registered as citable) or a page URL of this site → (kind, key, option)."""
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
        word = match.group(1).lower()
        if word == QUESTION:
            return QUESTION, match.group(2), match.group(3)
        citable = synthesis_registry.citable(word)
        if citable is None or match.group(3) or not match.group(2).isdigit():
            raise unknown
        return citable.kind, match.group(2), None
    parts = urlsplit(value)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != host):
        raise unknown
    found = synthesis_registry.citable_by_path(parts.path)
    if found is not None:
        return found[0].kind, found[1], None
    fragment = QUESTION_FRAGMENT_RE.match(parts.fragment or "")
    if parts.path.startswith("/syntheses/") and fragment:
        return QUESTION, fragment.group(1), None
    raise unknown


def _gone(what: str) -> ResultsError:
    return ResultsError(what, 422, "reference")


def _short(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[: LABEL_MAX - 1] + "…"


def resolve_source(
    session: Session, info: Scope, kind: str, key: str, option: str | None
) -> SourceSpec:
    """Check that the item exists, is public and may be cited by this scope's synthesis.

    The space that registered the kind says which territory an item belongs to: territorial
    syntheses cite any item without a territory (the national forums) and any questionnaire
    question, but only the territorial items (ideas, Retex sheets…) of their own territory.
    """
    if kind == QUESTION:
        return _question_source(session, info, key, option)
    citable = synthesis_registry.citable(kind)
    if citable is None or not key.isdigit():
        raise _gone(_("Source non reconnue."))
    item = citable.load(session, int(key))
    if item is None or not item.is_public:
        raise _gone(str(citable.missing % {"id": key}))
    if info.kind != "national":
        if citable.in_scope is not None:
            inside = citable.in_scope(session, item, info)
        else:
            academie = citable.academie(session, item) if citable.academie else None
            inside = citable.academie is None or academie in info.academie_codes
        if not inside:
            raise _gone(
                _(
                    "%(what)s n'appartient pas au territoire de cette synthèse : une synthèse "
                    "territoriale ne cite que les idées et fiches Retex de son territoire.",
                    what=str(citable.named % {"id": key}),
                )
            )
    return SourceSpec(
        citable.kind, item.id, None, None, _short(citable.title(session, item)), citable.url(item)
    )


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
        QUESTION,
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
            spec.kind,
            spec.target_id,
            spec.question_key,
            spec.option_key,
        ):
            raise ResultsError(
                _("Cette source est déjà citée par la proposition."), 422, "reference"
            )
    source = SynthesisSource(
        kind=spec.kind,
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
