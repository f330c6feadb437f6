"""Notification forms, all fields bounded."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, RadioField, SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from consult.notifications.models import DELIVERY_LABELS, Delivery, Event


class FollowForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired(), Length(max=20)])
    key = HiddenField(validators=[DataRequired(), Length(max=20)])
    action = HiddenField(validators=[DataRequired(), Length(max=10)])
    next = HiddenField(validators=[Length(max=500)])


class ActionForm(FlaskForm):
    """Mark read, mark all read: nothing but the CSRF token."""


def preferences_form(values: dict[Event, Delivery], formdata: object = None) -> FlaskForm:
    class PreferencesForm(FlaskForm):
        profile_shows_details = BooleanField(
            _l("Afficher mon public et mon académie sur mon profil public"),
            description=_l("Par défaut, votre profil ne montre que votre pseudonyme."),
        )

    for event in Event:
        setattr(
            PreferencesForm,
            f"event_{event.value}",
            RadioField(
                event.label,
                choices=[SelectChoice(d.value, DELIVERY_LABELS[d]) for d in Delivery],
                default=values[event].value,
                validators=[InputRequired(message=_l("Choisissez une option."))],
            ),
        )
    if formdata is None:
        return PreferencesForm()
    return PreferencesForm(formdata=formdata)
