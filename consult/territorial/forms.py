"""Territorial forms. Every field is bounded so hostile input is refused before any work."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
    ValidationError,
)
from wtforms.validators import URL, DataRequired, InputRequired, Length, NumberRange, Optional

from consult.forms import PersonalDataConfirmation
from consult.models import AUDIENCE_PLURALS, Audience
from consult.territorial.models import (
    ANSWER_MAX,
    ATTENDANCE_MAX,
    BODY_MAX,
    IDEA_STATUS_LABELS,
    MINUTES_MAX,
    PLACE_MAX,
    TITLE_MAX,
    URL_MAX,
    IdeaStatus,
)

CAPACITY_MAX = 100_000


class HttpUrl:
    """Only http(s) links: no javascript: or data: URLs reach a page."""

    def __call__(self, form: FlaskForm, field: URLField) -> None:
        value = (field.data or "").strip()
        if value and not value.lower().startswith(("https://", "http://")):
            raise ValidationError(_l("Le lien doit commencer par https:// ou http://."))


class IdeaForm(PersonalDataConfirmation, FlaskForm):
    title = StringField(
        _l("Titre de l'idée"),
        validators=[
            DataRequired(message=_l("Donnez un titre à votre idée.")),
            Length(min=5, max=TITLE_MAX),
        ],
    )
    body = TextAreaField(
        _l("Votre idée"),
        description=_l("Markdown simple accepté. N'écrivez ni adresse ni numéro de téléphone."),
        validators=[
            DataRequired(message=_l("Décrivez votre idée.")),
            Length(min=20, max=BODY_MAX),
        ],
    )


class AnswerForm(FlaskForm):
    status = RadioField(
        _l("Statut de l'idée"),
        choices=[SelectChoice(s.value, IDEA_STATUS_LABELS[s]) for s in IdeaStatus],
        validators=[InputRequired(message=_l("Choisissez un statut."))],
    )
    answer = TextAreaField(
        _l("Réponse publique"),
        description=_l("Expliquez la décision : elle sera publiée avec l'idée."),
        validators=[
            DataRequired(message=_l("Rédigez une réponse publique.")),
            Length(min=10, max=ANSWER_MAX),
        ],
    )


def territory_choice_label(kind: str, code: str) -> str:
    from consult.territorial import territory

    item = territory.from_scope(kind, code)
    return item.label if item else code


class TerritoryChoiceMixin:
    territory = SelectField(
        _l("Territoire"),
        validators=[InputRequired(message=_l("Choisissez un territoire."))],
        validate_choice=True,
    )

    def set_territories(self, scopes: list[tuple[str, str]]) -> None:
        self.territory.choices = [
            SelectChoice(f"{kind}:{code}", territory_choice_label(kind, code))
            for kind, code in scopes
        ]


class EventForm(TerritoryChoiceMixin, FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(min=5, max=TITLE_MAX)])
    description = TextAreaField(
        _l("Description"),
        description=_l("Markdown simple accepté."),
        validators=[DataRequired(), Length(min=10, max=BODY_MAX)],
    )
    starts_at = DateTimeLocalField(
        _l("Début (heure de Paris)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message=_l("Indiquez une date et une heure valides."))],
    )
    ends_at = DateTimeLocalField(
        _l("Fin (heure de Paris)"),
        format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
        validators=[InputRequired(message=_l("Indiquez une date et une heure valides."))],
    )
    place = StringField(
        _l("Lieu"),
        description=_l("Adresse ou nom du lieu ; laissez vide pour un événement en ligne."),
        validators=[Optional(), Length(max=PLACE_MAX)],
    )
    online_url = URLField(
        _l("Lien de participation en ligne"),
        validators=[Optional(), Length(max=URL_MAX), URL(require_tld=True), HttpUrl()],
    )
    audiences = SelectMultipleField(
        _l("Publics concernés"),
        choices=[SelectChoice(a.value, AUDIENCE_PLURALS[a]) for a in Audience],
        validators=[DataRequired(message=_l("Choisissez au moins un public."))],
    )
    registration_url = URLField(
        _l("Lien d'inscription externe"),
        validators=[Optional(), Length(max=URL_MAX), URL(require_tld=True), HttpUrl()],
    )
    capacity = IntegerField(
        _l("Jauge (inscription sur la plateforme)"),
        description=_l("Nombre de places ; laissez vide s'il n'y a pas d'inscription ici."),
        validators=[Optional(), NumberRange(min=1, max=CAPACITY_MAX)],
    )

    def validate_ends_at(self, field: DateTimeLocalField) -> None:
        if self.starts_at.data and field.data and field.data < self.starts_at.data:
            raise ValidationError(_l("La fin doit être postérieure ou égale au début."))

    def validate_place(self, field: StringField) -> None:
        if not (field.data or "").strip() and not (self.online_url.data or "").strip():
            raise ValidationError(_l("Indiquez un lieu ou un lien de participation en ligne."))

    def validate_capacity(self, field: IntegerField) -> None:
        if field.data and (self.registration_url.data or "").strip():
            raise ValidationError(
                _l("Choisissez soit un lien d'inscription externe, soit une jauge.")
            )


class NewsForm(TerritoryChoiceMixin, FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(min=5, max=TITLE_MAX)])
    body = TextAreaField(
        _l("Texte"),
        description=_l("Markdown simple accepté (gras, italique, listes, liens)."),
        validators=[DataRequired(), Length(min=10, max=BODY_MAX)],
    )


class MinutesForm(FlaskForm):
    """The compte rendu of a meeting. Attendance is counts by audience only: no names."""

    body = TextAreaField(
        _l("Compte rendu"),
        description=_l(
            "Markdown simple accepté. Ne nommez pas les participants : la présence se "
            "déclare en nombres, par public."
        ),
        validators=[
            DataRequired(message=_l("Rédigez le compte rendu.")),
            Length(min=20, max=MINUTES_MAX),
        ],
    )

    def set_attendance(self, counts: dict[str, int]) -> None:
        for audience in Audience:
            getattr(self, f"present_{audience.value}").data = counts.get(audience.value)

    def attendance_counts(self) -> dict[str, int]:
        return {
            audience.value: getattr(self, f"present_{audience.value}").data or 0
            for audience in Audience
        }

    def attendance_fields(self) -> list:
        return [getattr(self, f"present_{audience.value}") for audience in Audience]


for _audience in Audience:
    setattr(
        MinutesForm,
        f"present_{_audience.value}",
        IntegerField(
            AUDIENCE_PLURALS[_audience],
            validators=[
                Optional(),
                NumberRange(
                    min=0,
                    max=ATTENDANCE_MAX,
                    message=_l("Un nombre entre 0 et %(max)d.", max=ATTENDANCE_MAX),
                ),
            ],
        ),
    )


class AttachmentForm(FlaskForm):
    """A file of the minutes: PDF, PNG or JPEG (checked by content in consult.uploads)."""

    file = FileField(
        _l("Fichier (PDF, PNG ou JPEG, 5 Mo au plus)"),
        validators=[FileRequired(message=_l("Choisissez un fichier."))],
    )
    label = StringField(
        _l("Intitulé (facultatif)"),
        validators=[Optional(), Length(max=160)],
    )
