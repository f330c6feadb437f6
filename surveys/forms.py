"""Questionnaire forms. The answer pages are built from the definition and parsed by the engine
(every value checked against its question); these forms carry CSRF and the bounded fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from consult.models import AUDIENCE_LABELS, Audience
from consult.territories import catalog
from surveys.services import MAX_BATCH, MAX_CODE_DAYS

DEFINITION_MAX_LENGTH = 300_000


class PageForm(FlaskForm):
    """CSRF only: the questions of the page are read by the engine from request.form."""


class CodeForm(FlaskForm):
    code = StringField(
        _l("Code d'accès"),
        description=_l("Le code inscrit sur votre feuille, par exemple ABCD-EFGH-JK."),
        validators=[DataRequired(_l("Saisissez votre code.")), Length(max=32)],
    )


class BatchForm(FlaskForm):
    label = StringField(
        _l("Nom du lot"),
        description=_l("Par exemple : 4e B du collège Jean-Moulin, réunion du 12 octobre."),
        validators=[DataRequired(_l("Nommez le lot.")), Length(max=120)],
    )
    audience = SelectField(lazy_pgettext("audience", "Public"), validators=[InputRequired()])
    academie = SelectField(_l("Académie"), validators=[InputRequired()])
    size = IntegerField(
        _l("Nombre de codes"),
        default=30,
        validators=[
            InputRequired(_l("Indiquez un nombre.")),
            NumberRange(1, MAX_BATCH, _l("De 1 à %(max)d codes.", max=MAX_BATCH)),
        ],
    )
    valid_days = IntegerField(
        _l("Validité (jours)"),
        default=30,
        validators=[
            InputRequired(_l("Indiquez un nombre de jours.")),
            NumberRange(1, MAX_CODE_DAYS, _l("De 1 à %(max)d jours.", max=MAX_CODE_DAYS)),
        ],
    )

    # The meeting whose paper questionnaires these codes type in (its organisers only).
    event = SelectField(_l("Rencontre (facultatif)"), validators=[Optional()])

    def __init__(
        self,
        academie_codes: list[str],
        audiences: list[str],
        events: list[tuple[int, str]] | None = None,
        **kw,
    ) -> None:
        super().__init__(**kw)
        self.event.choices = [SelectChoice("", _l("Aucune"))] + [
            SelectChoice(str(ident), title) for ident, title in events or []
        ]
        cat = catalog()
        self.academie.choices = [
            SelectChoice(code, cat.academies[code].name)
            for code in sorted(academie_codes, key=lambda c: cat.academies[c].name)
        ]
        self.audience.choices = [SelectChoice(a, AUDIENCE_LABELS[Audience(a)]) for a in audiences]


class DefinitionForm(FlaskForm):
    definition = TextAreaField(
        _l("Définition (JSON)"),
        validators=[DataRequired(), Length(max=DEFINITION_MAX_LENGTH)],
    )
