"""Forum forms. Every field is bounded; choices are SelectChoice objects."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consult.forms import PersonalDataConfirmation
from forums.models import BODY_MAX, COMMENT_MAX, POLARITY_LABELS, TITLE_MAX, Polarity, Theme


class ContributionForm(PersonalDataConfirmation, FlaskForm):
    subtheme = SelectField(
        _l("Sous-thème"),
        coerce=str,
        validators=[InputRequired(message=_l("Choisissez un sous-thème."))],
    )
    title = StringField(
        _l("Titre"),
        description=_l("150 caractères au plus : une phrase qui résume votre proposition."),
        validators=[
            DataRequired(message=_l("Donnez un titre à votre contribution.")),
            Length(max=TITLE_MAX, message=_l("Le titre dépasse 150 caractères.")),
        ],
    )
    body = TextAreaField(
        _l("Votre contribution"),
        description=_l(
            "5 000 caractères au plus. Mise en forme simple : *italique*, **gras**, listes, "
            "liens. N'écrivez ni adresse électronique ni numéro de téléphone."
        ),
        validators=[
            DataRequired(message=_l("Écrivez votre contribution.")),
            Length(max=BODY_MAX, message=_l("La contribution dépasse 5 000 caractères.")),
        ],
    )
    # Set once the similar contributions have been shown (the no-JavaScript check step).
    checked = HiddenField(validators=[Optional(), Length(max=1)])

    def set_theme(self, theme: Theme) -> None:
        self.subtheme.choices = [SelectChoice("", _l("Choisir un sous-thème"))] + [
            SelectChoice(str(s.id), s.title) for s in theme.subthemes
        ]


class CommentForm(PersonalDataConfirmation, FlaskForm):
    polarity = RadioField(
        _l("Votre avis sur cette contribution"),
        choices=[SelectChoice(p.value, POLARITY_LABELS[p]) for p in Polarity],
        validators=[Optional()],
    )
    body = TextAreaField(
        _l("Votre commentaire"),
        description=_l("3 000 caractères au plus."),
        validators=[
            DataRequired(message=_l("Écrivez votre commentaire.")),
            Length(max=COMMENT_MAX, message=_l("Le commentaire dépasse 3 000 caractères.")),
        ],
    )
    parent = HiddenField(validators=[Optional(), Length(max=12)])


class VoteForm(FlaskForm):
    value = HiddenField(validators=[InputRequired(), Length(max=10)])


class ActionForm(FlaskForm):
    """Forms with no field but the CSRF token (withdraw)."""


class MeetingContributionForm(FlaskForm):
    """A contribution collected in the room, typed in by the meeting's organiser."""

    subtheme = SelectField(
        _l("Thème et sous-thème"),
        coerce=str,
        validators=[InputRequired(message=_l("Choisissez un sous-thème."))],
    )
    audience = SelectField(
        _l("Public déclaré par la personne"),
        coerce=str,
        validators=[InputRequired(message=_l("Choisissez le public de la personne."))],
    )
    title = StringField(
        _l("Titre"),
        description=_l("150 caractères au plus : une phrase qui résume ce qui a été dit."),
        validators=[
            DataRequired(message=_l("Donnez un titre à la contribution.")),
            Length(max=TITLE_MAX, message=_l("Le titre dépasse 150 caractères.")),
        ],
    )
    body = TextAreaField(
        _l("Contribution recueillie"),
        description=_l(
            "5 000 caractères au plus. Ne notez ni le nom ni les coordonnées de la personne."
        ),
        validators=[
            DataRequired(message=_l("Écrivez la contribution.")),
            Length(max=BODY_MAX, message=_l("La contribution dépasse 5 000 caractères.")),
        ],
    )

    def set_choices(self, themes: list[Theme]) -> None:
        from consult.models import Audience

        self.subtheme.choices = [SelectChoice("", _l("Choisir un sous-thème"))] + [
            SelectChoice(str(s.id), f"{t.title} — {s.title}") for t in themes for s in t.subthemes
        ]
        self.audience.choices = [SelectChoice("", _l("Choisir un public"))] + [
            SelectChoice(a.value, a.label) for a in Audience
        ]
