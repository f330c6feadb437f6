"""Account forms. Every field is bounded so hostile input is refused before any work is done."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    ValidationError,
)
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional

from consult.models import (
    AUDIENCE_LABELS,
    OTHER_ACTOR_LABELS,
    SCHOOL_LEVEL_LABELS,
    Audience,
    OtherActorKind,
    SchoolLevel,
)
from consult.security import (
    PASSWORD_MAX_LENGTH,
    normalise_email,
    password_problem,
    pseudonym_problem,
)
from consult.territories import catalog

EMAIL_MAX_LENGTH = 254


def _academie_choices() -> list[tuple[str, str]]:
    return [SelectChoice("", _l("Choisir une académie"))] + [
        SelectChoice(a.code, a.name) for a in catalog().academies_sorted()
    ]


def _departement_choices() -> list[tuple[str, str]]:
    cat = catalog()
    items = sorted(cat.departements.values(), key=lambda d: d.code.zfill(3))
    # data-academie lets the optional script narrow the list to the chosen académie.
    return [SelectChoice("", _l("Non précisé"))] + [
        SelectChoice(
            d.code,
            f"{d.name} ({d.code}) — {cat.academies[d.academie_code].name}",
            {"data-academie": d.academie_code},
        )
        for d in items
    ]


class EmailAddress:
    """Syntax check without any DNS lookup (no network request leaves the machine)."""

    def __call__(self, form: FlaskForm, field: EmailField) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except ValueError as exc:
            raise ValidationError(_l("Adresse électronique invalide.")) from exc


class ProfileFieldsMixin:
    """Audience and territory, shared by registration and profile edition."""

    audience = RadioField(
        _l("Vous participez en tant que"),
        choices=[SelectChoice(a.value, AUDIENCE_LABELS[a]) for a in Audience],
        validators=[InputRequired(message=_l("Indiquez à quel titre vous participez."))],
    )
    other_actor_kind = SelectField(
        _l("Type d'acteur (si « autre acteur »)"),
        choices=[SelectChoice("", _l("Non précisé"))]
        + [SelectChoice(k.value, OTHER_ACTOR_LABELS[k]) for k in OtherActorKind],
        validators=[Optional()],
    )
    school_level = RadioField(
        _l("Niveau scolaire (élèves seulement)"),
        description=_l("Nous ne demandons jamais votre âge."),
        choices=[SelectChoice(s.value, SCHOOL_LEVEL_LABELS[s]) for s in SchoolLevel],
        validators=[Optional()],
    )
    # Choices are checked by the validators below, with messages that name the problem.
    academie = SelectField(
        _l("Académie"),
        validators=[DataRequired(message=_l("Choisissez votre académie."))],
        validate_choice=False,
    )
    departement = SelectField(
        _l("Département (facultatif)"), validators=[Optional()], validate_choice=False
    )

    def _init_territory_choices(self) -> None:
        self.academie.choices = _academie_choices()
        self.departement.choices = _departement_choices()

    def validate(self, extra_validators: dict | None = None) -> bool:
        valid = super().validate(extra_validators)  # type: ignore[misc]
        # Cross-field rules: Optional() on these fields stops their own validator chain.
        if self.audience.data == Audience.ELEVE and not self.school_level.data:
            self.school_level.errors = [
                *self.school_level.errors,
                _l("Les élèves indiquent leur niveau : collège ou lycée."),
            ]
            valid = False
        if self.audience.data != Audience.ELEVE:
            self.school_level.data = None
        if self.audience.data != Audience.AUTRE:
            self.other_actor_kind.data = None
        return valid

    def validate_academie(self, field: SelectField) -> None:
        if field.data not in catalog().academies:
            raise ValidationError(_l("Académie inconnue."))

    def validate_departement(self, field: SelectField) -> None:
        if not field.data:
            field.data = None
            return
        dept = catalog().departements.get(field.data)
        if dept is None:
            raise ValidationError(_l("Département inconnu."))
        if dept.academie_code != self.academie.data:
            raise ValidationError(_l("Ce département n'appartient pas à l'académie choisie."))


class RegistrationForm(ProfileFieldsMixin, FlaskForm):
    pseudonym = StringField(
        _l("Pseudonyme"),
        description=_l(
            "Public : il apparaît avec vos contributions. N'utilisez ni votre nom, "
            "ni votre adresse électronique."
        ),
        validators=[DataRequired(message=_l("Choisissez un pseudonyme.")), Length(max=64)],
    )
    email = EmailField(
        _l("Adresse électronique"),
        description=_l("Privée : elle ne sert qu'à vous connecter. Format : nom@domaine.fr"),
        validators=[
            DataRequired(message=_l("Indiquez votre adresse électronique.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("Adresse électronique trop longue.")),
            EmailAddress(),
        ],
    )
    password = PasswordField(
        _l("Mot de passe"),
        description=_l("Au moins 12 caractères. Une phrase facile à retenir est idéale."),
        validators=[DataRequired(message=_l("Choisissez un mot de passe."))],
    )
    password_confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(message=_l("Confirmez le mot de passe.")),
            EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas.")),
        ],
    )
    accept_terms = BooleanField(
        _l("J'ai lu la page « Données personnelles » et j'accepte les règles de participation."),
        validators=[DataRequired(message=_l("Vous devez accepter les règles pour participer."))],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._init_territory_choices()

    def validate_pseudonym(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        problem = pseudonym_problem(field.data)
        if problem:
            raise ValidationError(problem)

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(
            field.data or "", self.pseudonym.data or "", self.email.data or ""
        )
        if problem:
            raise ValidationError(problem)


class ProfileForm(ProfileFieldsMixin, FlaskForm):
    pseudonym = StringField(
        _l("Pseudonyme"),
        description=_l("Public : il apparaît avec vos contributions."),
        validators=[DataRequired(message=_l("Choisissez un pseudonyme.")), Length(max=64)],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._init_territory_choices()

    def validate_pseudonym(self, field: StringField) -> None:
        field.data = (field.data or "").strip()
        problem = pseudonym_problem(field.data)
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique"),
        validators=[
            DataRequired(message=_l("Indiquez votre adresse électronique.")),
            Length(max=EMAIL_MAX_LENGTH),
        ],
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[
            DataRequired(message=_l("Indiquez votre mot de passe.")),
            Length(max=PASSWORD_MAX_LENGTH),
        ],
    )
    remember = BooleanField(_l("Rester connecté sur cet appareil (14 jours)"), default=False)


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[
            DataRequired(message=_l("Indiquez votre mot de passe actuel.")),
            Length(max=PASSWORD_MAX_LENGTH),
        ],
    )
    password = PasswordField(
        _l("Nouveau mot de passe"),
        description=_l("Au moins 12 caractères."),
        validators=[DataRequired(message=_l("Choisissez un nouveau mot de passe."))],
    )
    password_confirm = PasswordField(
        _l("Confirmez le nouveau mot de passe"),
        validators=[
            DataRequired(message=_l("Confirmez le nouveau mot de passe.")),
            EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas.")),
        ],
    )

    def __init__(self, *args: object, user: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field: PasswordField) -> None:
        user = self._user
        problem = password_problem(
            field.data or "",
            getattr(user, "pseudonym", "") or "",
            getattr(user, "email", "") or "",
        )
        if problem:
            raise ValidationError(problem)


class EmailChangeForm(FlaskForm):
    email = EmailField(
        _l("Nouvelle adresse électronique"),
        validators=[
            DataRequired(message=_l("Indiquez votre adresse électronique.")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("Adresse électronique trop longue.")),
            EmailAddress(),
        ],
    )
    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[
            DataRequired(message=_l("Indiquez votre mot de passe actuel.")),
            Length(max=PASSWORD_MAX_LENGTH),
        ],
    )


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(
        _l("Adresse électronique"),
        validators=[
            DataRequired(message=_l("Indiquez votre adresse électronique.")),
            Length(max=EMAIL_MAX_LENGTH),
        ],
    )


class PasswordResetForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"),
        description=_l("Au moins 12 caractères."),
        validators=[DataRequired(message=_l("Choisissez un nouveau mot de passe."))],
    )
    password_confirm = PasswordField(
        _l("Confirmez le nouveau mot de passe"),
        validators=[
            DataRequired(message=_l("Confirmez le nouveau mot de passe.")),
            EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas.")),
        ],
    )

    def __init__(self, *args: object, user: object = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._user = user

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(
            field.data or "",
            getattr(self._user, "pseudonym", "") or "",
            getattr(self._user, "email", "") or "",
        )
        if problem:
            raise ValidationError(problem)


class ReauthForm(FlaskForm):
    """Asked again before the personal-data download and before deletion."""

    current_password = PasswordField(
        _l("Mot de passe"),
        validators=[
            DataRequired(message=_l("Indiquez votre mot de passe.")),
            Length(max=PASSWORD_MAX_LENGTH),
        ],
    )


class DeletionForm(ReauthForm):
    confirm = BooleanField(
        _l(
            "Je comprends que mon compte et mes données personnelles seront effacés "
            "définitivement, et que mes contributions publiques resteront sous la mention "
            "« Compte supprimé »."
        ),
        validators=[DataRequired(message=_l("Cochez la case pour confirmer la suppression."))],
    )


class LanguageForm(FlaskForm):
    lang = SelectField(
        _l("Langue"), choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")]
    )
