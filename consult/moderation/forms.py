"""Moderation forms, all fields bounded."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from consult.moderation.models import REPORT_REASON_LABELS, ReportReason
from consult.moderation.services import REASON_MAX, REPORT_TEXT_MAX


class ReportForm(FlaskForm):
    reason = RadioField(
        _l("Motif du signalement"),
        choices=[SelectChoice(r.value, REPORT_REASON_LABELS[r]) for r in ReportReason],
        validators=[InputRequired(message=_l("Choisissez un motif."))],
    )
    text = TextAreaField(
        _l("Précisions (facultatif)"),
        description=_l("1 000 caractères au plus. N'écrivez pas de données personnelles."),
        validators=[Optional(), Length(max=REPORT_TEXT_MAX)],
    )


class DecisionForm(FlaskForm):
    reason = StringField(
        _l("Motif (montré à l'auteur)"),
        validators=[Optional(), Length(max=REASON_MAX)],
    )


class BlockForm(FlaskForm):
    reason = StringField(
        _l("Motif du blocage"),
        validators=[DataRequired(message=_l("Indiquez le motif.")), Length(max=REASON_MAX)],
    )
