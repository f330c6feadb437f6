"""Retex forms. Every field is bounded; choices come from the reference data and constants."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from consult.models import AUDIENCE_PLURALS, Audience
from consult.territories import catalog
from retex.models import ESTABLISHMENTS, PERIODS, SCHOOL_LEVELS, TEXT_FIELDS, THEMES

TITLE_MAX = 160
TEXT_MAX = 6000
COMMENT_MAX = 3000
QUERY_MAX = 200


def territory_choices(blank: str) -> list[SelectChoice]:
    """One select for the three levels, grouped: works without any script."""
    cat = catalog()
    regions = _l("Régions académiques")
    academies = _l("Académies")
    departements = _l("Départements")
    return (
        [SelectChoice("", blank)]
        + [SelectChoice(f"region:{r.code}", r.name, optgroup=regions) for r in cat.regions_sorted()]
        + [
            SelectChoice(f"academie:{a.code}", a.name, optgroup=academies)
            for a in cat.academies_sorted()
        ]
        + [
            SelectChoice(f"departement:{d.code}", f"{d.name} ({d.code})", optgroup=departements)
            for d in sorted(cat.departements.values(), key=lambda d: d.code.zfill(3))
        ]
    )


def _choices(mapping: dict, blank: str | None = None) -> list[SelectChoice]:
    first = [SelectChoice("", blank)] if blank is not None else []
    return first + [SelectChoice(k, v) for k, v in mapping.items()]


AUDIENCE_CHOICES = {a.value: AUDIENCE_PLURALS[a] for a in Audience}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(label, required: bool = True):
    validators = [Length(max=TEXT_MAX)]
    validators.insert(0, DataRequired() if required else Optional())
    return TextAreaField(label, validators=validators, render_kw={"rows": 5})


class SheetForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(min=5, max=TITLE_MAX)])
    territory = SelectField(
        _l("Territoire"),
        description=_l("Région académique, académie ou département concerné."),
        choices=lambda: territory_choices(str(_l("Choisir un territoire"))),
        validators=[InputRequired(message=_l("Choisissez un territoire."))],
    )
    establishment = SelectField(
        _l("Type d'établissement ou de structure"),
        choices=_choices(ESTABLISHMENTS, _l("Choisir")),
        validators=[InputRequired()],
    )
    school_level = SelectField(
        _l("Niveau"),
        choices=_choices(SCHOOL_LEVELS, _l("Choisir")),
        validators=[InputRequired()],
    )
    period = RadioField(
        _l("Période"),
        choices=_choices(PERIODS),
        validators=[InputRequired(message=_l("Indiquez la période."))],
    )
    themes = MultiCheckboxField(
        _l("Thèmes"),
        choices=_choices(THEMES),
        validators=[DataRequired(message=_l("Choisissez au moins un thème."))],
    )
    audiences = MultiCheckboxField(
        _l("Publics concernés"),
        choices=_choices(AUDIENCE_CHOICES),
        validators=[DataRequired(message=_l("Choisissez au moins un public."))],
    )
    context = _text(TEXT_FIELDS["context"])
    actions = _text(TEXT_FIELDS["actions"])
    tools = _text(TEXT_FIELDS["tools"])
    results = _text(TEXT_FIELDS["results"])
    difficulties = _text(TEXT_FIELDS["difficulties"], required=False)
    lessons = _text(TEXT_FIELDS["lessons"])
    transferability = _text(TEXT_FIELDS["transferability"], required=False)
    contact_role = StringField(
        _l("Fonction de la personne à contacter (facultatif)"),
        description=_l(
            "Une fonction, pas un nom : par exemple « IAN de l'académie » ou « principal "
            "adjoint ». Pas d'adresse électronique ni de téléphone."
        ),
        validators=[Optional(), Length(max=120)],
    )


class CommentForm(FlaskForm):
    comment = TextAreaField(
        _l("Commentaire pour l'auteur"),
        validators=[Optional(), Length(max=COMMENT_MAX)],
        render_kw={"rows": 4},
    )


class ActionForm(FlaskForm):
    """Buttons that only need the CSRF token (submit for review, delete an attachment)."""


class AttachmentForm(FlaskForm):
    file = FileField(
        _l("Fichier (PDF, PNG ou JPEG)"),
        validators=[FileRequired(message=_l("Choisissez un fichier."))],
    )
    label = StringField(_l("Légende (facultatif)"), validators=[Optional(), Length(max=160)])


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form: nothing to forge

    q = StringField(_l("Rechercher"), validators=[Optional(), Length(max=QUERY_MAX)])
    territory = SelectField(
        _l("Territoire"),
        choices=lambda: territory_choices(str(_l("Tous les territoires"))),
        validators=[Optional()],
    )
    theme = SelectField(
        _l("Thème"), choices=_choices(THEMES, _l("Tous les thèmes")), validators=[Optional()]
    )
    audience = SelectField(
        lazy_pgettext("audience", "Public"),
        choices=_choices(AUDIENCE_CHOICES, _l("Tous les publics")),
        validators=[Optional()],
    )
    level = SelectField(
        _l("Niveau"),
        choices=_choices(SCHOOL_LEVELS, _l("Tous les niveaux")),
        validators=[Optional()],
    )
    period = SelectField(
        _l("Période"), choices=_choices(PERIODS, _l("Toutes les périodes")), validators=[Optional()]
    )
