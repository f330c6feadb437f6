"""The synthesis tables in code form: names, French titles, columns with their kinds, and
whether they count people (``synthesis/privacy.py`` protects those cell by cell).

Column kinds: ``dim`` (a dimension: audience, académie, question...), ``count`` (a number of
items or people), ``share`` (a proportion in [0, 1]), ``score`` (another figure: Wilson bound,
effective sample size), ``text`` (titles, labels, keywords, quotes, dates). Figures (count,
share, score) are what the disclosure control protects.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext

from consult import territories
from consult.territories import Scope

ALL = "*"
FIGURE_KINDS = frozenset({"count", "share", "score"})


@dataclass(frozen=True)
class Column:
    name: str
    label: object  # lazy gettext string
    kind: str  # dim, count, share, score, text


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: object
    description: object
    columns: tuple[Column, ...]
    # Tables without people (labels, public content) are never suppressed.
    has_people: bool = True

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def figure_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.kind in FIGURE_KINDS]

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def _c(name: str, label: object, kind: str) -> Column:
    return Column(name, label, kind)


AUDIENCE = _c("audience", lazy_pgettext("audience", "Public"), "dim")
ACADEMIE = _c("academie_code", _l("Académie"), "dim")
INDICATOR = _c("indicator", _l("Indicateur"), "dim")
VALUE = _c("value", _l("Valeur"), "count")
PEOPLE = _c("people", _l("Personnes"), "count")
THEME = _c("theme_slug", _l("Thème"), "dim")

PARTICIPATION_INDICATORS = (
    "participants",
    "contributions",
    "meeting_contributions",
    "votes",
    "comments",
    "ideas",
    "idea_supports",
    "retex_sheets",
    "survey_responses",
)
INDICATOR_LABELS = {
    "participants": _l("Participants"),
    "contributions": _l("Contributions"),
    "meeting_contributions": _l("Contributions recueillies en rencontre"),
    "votes": _l("Votes"),
    "comments": _l("Commentaires"),
    "ideas": _l("Idées"),
    "idea_supports": _l("Soutiens d'idées"),
    "retex_sheets": _l("Fiches Retex"),
    "survey_responses": _l("Réponses au questionnaire"),
    "adopt": _l("Adoptions"),
    "refuse": _l("Refus"),
    "pour": _l("Commentaires pour"),
    "contre": _l("Commentaires contre"),
}
FORUM_INDICATORS = ("contributions", "votes", "adopt", "refuse", "comments", "pour", "contre")
RANKING_LABELS = {
    "adopted": _l("Les plus adoptées"),
    "debated": _l("Les plus débattues"),
}
CONSENSUS_LABELS = {"consensuelle": _l("Consensuelle"), "clivante": _l("Clivante")}
CORPUS_LABELS = {
    "contributions": _l("Contributions"),
    "comments": _l("Commentaires"),
    "ideas": _l("Idées"),
    "open_answers": _l("Réponses ouvertes"),
}
RETEX_DIMENSIONS = ("theme", "audience", "school_level", "academie")
RETEX_DIMENSION_LABELS = {
    "theme": _l("Thème"),
    "audience": _l("Public concerné"),
    "school_level": _l("Niveau"),
    "academie": _l("Académie"),
}

_SPECS = (
    TableSpec(
        "participation",
        _l("Participation par public"),
        _l("Participants et contributions de toute nature, pour chaque public et au total."),
        (AUDIENCE, INDICATOR, VALUE, PEOPLE),
    ),
    TableSpec(
        "participation_territory",
        _l("Participation par académie"),
        _l("Les mêmes indicateurs pour chaque académie du territoire."),
        (ACADEMIE, AUDIENCE, INDICATOR, VALUE, PEOPLE),
    ),
    TableSpec(
        "participation_daily",
        _l("Participation jour par jour"),
        _l("Les mêmes indicateurs, jour après jour."),
        (_c("day", _l("Jour"), "text"), AUDIENCE, INDICATOR, VALUE, PEOPLE),
    ),
    TableSpec(
        "forum_themes",
        _l("Forums par thème et sous-thème"),
        _l(
            "Contributions, votes (adoptions et refus) et commentaires (pour et contre) de "
            "chaque thème et sous-thème, par public."
        ),
        (
            THEME,
            _c("subtheme_slug", _l("Sous-thème"), "dim"),
            AUDIENCE,
            INDICATOR,
            VALUE,
            PEOPLE,
        ),
    ),
    TableSpec(
        "forum_top",
        _l("Contributions les plus adoptées et les plus débattues"),
        _l(
            "Par thème : les plus adoptées selon la borne basse de Wilson des votes du "
            "territoire, les plus débattues selon le nombre de commentaires."
        ),
        (
            THEME,
            _c("ranking", _l("Classement"), "dim"),
            _c("rank", _l("Rang"), "dim"),
            _c("contribution_id", _l("Contribution"), "dim"),
            _c("title", _l("Titre"), "text"),
            _c("adopt", _l("Adoptions"), "count"),
            _c("refuse", _l("Refus"), "count"),
            _c("wilson", _l("Borne basse de Wilson"), "score"),
            _c("pour", _l("Commentaires pour"), "count"),
            _c("contre", _l("Commentaires contre"), "count"),
            _c("comments", _l("Commentaires"), "count"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "forum_consensus",
        _l("Consensus entre publics"),
        _l(
            "Contributions adoptées par une majorité de chaque public ayant assez voté "
            "(consensuelles) ou adoptées par un public et refusées par un autre (clivantes)."
        ),
        (
            _c("contribution_id", _l("Contribution"), "dim"),
            THEME,
            _c("title", _l("Titre"), "text"),
            _c("label", _l("Consensus"), "dim"),
            _c("audiences", _l("Publics ayant assez voté"), "count"),
            _c("votes", _l("Votes"), "count"),
            _c("min_share", _l("Part d’adoption la plus basse"), "share"),
            _c("max_share", _l("Part d’adoption la plus haute"), "share"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "forum_consensus_matrix",
        _l("Adoption par public des contributions consensuelles et clivantes"),
        _l("La matrice public × contribution des votes d'adoption et de refus."),
        (
            _c("contribution_id", _l("Contribution"), "dim"),
            AUDIENCE,
            _c("adopt", _l("Adoptions"), "count"),
            _c("refuse", _l("Refus"), "count"),
            _c("share", _l("Part d’adoption"), "share"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "survey_distribution",
        _l("Réponses au questionnaire"),
        _l(
            "Pour chaque question, la répartition des réponses par public ; la base est le "
            "nombre de répondants de ce public qui ont vu la question et y ont répondu. La part "
            "pondérée et la taille effective d'échantillon figurent quand une population de "
            "référence est chargée."
        ),
        (
            _c("question_key", _l("Question"), "dim"),
            _c("option_key", _l("Réponse"), "dim"),
            AUDIENCE,
            _c("count", _l("Répondants"), "count"),
            _c("base", _l("Base"), "count"),
            _c("share", _l("Part"), "share"),
            _c("weighted_share", _l("Part pondérée"), "share"),
            _c("effective_n", _l("Taille effective d’échantillon"), "score"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "survey_territory",
        _l("Réponses au questionnaire par académie"),
        _l("La répartition des réponses de chaque question dans chaque académie du territoire."),
        (
            _c("question_key", _l("Question"), "dim"),
            _c("option_key", _l("Réponse"), "dim"),
            ACADEMIE,
            _c("count", _l("Répondants"), "count"),
            _c("base", _l("Base"), "count"),
            _c("share", _l("Part"), "share"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "survey_questions",
        _l("Questions du questionnaire"),
        _l("Libellé, type et section de chaque question."),
        (
            _c("question_key", _l("Question"), "dim"),
            _c("label", _l("Libellé"), "text"),
            _c("kind", _l("Type"), "dim"),
            _c("section", _l("Section"), "dim"),
        ),
        has_people=False,
    ),
    TableSpec(
        "topics",
        _l("Thématiques des textes libres"),
        _l(
            "Les thématiques des contributions, commentaires, idées et réponses ouvertes, avec "
            "leur intitulé, leurs mots-clés et trois citations représentatives."
        ),
        (
            _c("corpus", _l("Corpus"), "dim"),
            _c("topic", _l("Thématique"), "dim"),
            _c("label", _l("Intitulé"), "text"),
            _c("size", _l("Textes"), "count"),
            _c("keywords", _l("Mots-clés"), "text"),
            _c("quote_1", _l("Citation 1"), "text"),
            _c("quote_1_ref", _l("Source de la citation 1"), "text"),
            _c("quote_2", _l("Citation 2"), "text"),
            _c("quote_2_ref", _l("Source de la citation 2"), "text"),
            _c("quote_3", _l("Citation 3"), "text"),
            _c("quote_3_ref", _l("Source de la citation 3"), "text"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "retex",
        _l("Fiches Retex"),
        _l("Fiches publiées par thème, public concerné, niveau et académie."),
        (
            _c("dimension", _l("Dimension"), "dim"),
            _c("value_key", _l("Valeur"), "dim"),
            _c("sheets", _l("Fiches"), "count"),
            PEOPLE,
        ),
    ),
    TableSpec(
        "retex_recent",
        _l("Fiches Retex récentes"),
        _l("Les dernières fiches publiées."),
        (
            _c("sheet_id", _l("Fiche"), "dim"),
            _c("title", _l("Titre"), "text"),
            ACADEMIE,
            _c("published_at", _l("Publiée le"), "text"),
            _c("themes", _l("Thèmes"), "text"),
        ),
        has_people=False,
    ),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in _SPECS}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


def spec(name: str) -> TableSpec:
    return TABLES[name]


def all_scopes() -> list[Scope]:
    """National, then the 18 régions académiques, then the 30 académies (reference data)."""
    return territories.all_scopes()


class UnknownScope(LookupError):
    """A scope that is not national, a known région académique or a known académie."""


def resolve_scope(kind: str, code: str = "") -> Scope:
    found = territories.scope_of(kind, code or "")
    if found is None:
        raise UnknownScope(f"territoire inconnu : {kind} {code}".strip())
    return found
