"""Composer forms. Every field is bounded; the services re-check what forms cannot (themes,
sources, personal data)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from synthesis import catalog
from synthesis.results import FIGURES
from synthesis.results_models import PROPOSAL_TEXT_MAX, TEXT_MAX, TITLE_MAX

REFERENCE_MAX = 300


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def figure_choices() -> list[tuple[str, str]]:
    return [(name, str(catalog.spec(name).title)) for name in FIGURES]


class TextForm(FlaskForm):
    title = StringField(
        _l("Titre de la synthèse"), validators=[DataRequired(), Length(max=TITLE_MAX)]
    )
    introduction = TextAreaField(
        _l("Introduction"),
        description=_l("Markdown simple : emphase, listes, liens."),
        validators=[Optional(), Length(max=TEXT_MAX)],
        render_kw={"rows": 6},
    )
    conclusion = TextAreaField(
        _l("Conclusion"),
        description=_l("Markdown simple : emphase, listes, liens."),
        validators=[Optional(), Length(max=TEXT_MAX)],
        render_kw={"rows": 6},
    )
    figures = MultiCheckboxField(
        _l("Tableaux de chiffres à publier"),
        description=_l(
            "Tirés de la dernière compilation au moment de la publication, avec les chiffres "
            "de moins de 10 personnes masqués."
        ),
        choices=figure_choices,
        validators=[Optional()],
    )


class ProposalForm(FlaskForm):
    theme = SelectField(_l("Thème"), validators=[DataRequired()])
    title = StringField(
        _l("Titre de la proposition"), validators=[DataRequired(), Length(max=TITLE_MAX)]
    )
    text = TextAreaField(
        _l("Texte de la proposition"),
        description=_l("Markdown simple : emphase, listes, liens."),
        validators=[DataRequired(), Length(max=PROPOSAL_TEXT_MAX)],
        render_kw={"rows": 5},
    )
    position = IntegerField(
        _l("Ordre"),
        description=_l("Les propositions d'un thème sont présentées dans cet ordre."),
        validators=[Optional(), NumberRange(min=1, max=999)],
    )


class SourceForm(FlaskForm):
    reference = StringField(
        _l("Source"),
        description=_l(
            "Adresse d'une contribution, d'une idée ou d'une fiche Retex, ou « contribution:123 », "
            "« idee:45 », « retex:7 », « question:C01 » (ou « question:C01:option »)."
        ),
        validators=[DataRequired(), Length(max=REFERENCE_MAX)],
    )


class ActionForm(FlaskForm):
    """A button that only carries the CSRF token (start, publish, delete)."""
