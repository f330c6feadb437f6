"""Forms of the analyst controls on /syntheses/ (CSRF through Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

# A reference table is at most 6 audiences × 30 académies: a few kilobytes. Anything much bigger
# is a wrong file, refused before parsing.
REFERENCE_MAX_BYTES = 256 * 1024


class RecompileForm(FlaskForm):
    """Only the CSRF token: the button starts a compilation."""


class ReferenceForm(FlaskForm):
    file = FileField(
        _l("Fichier CSV"),
        description=_l(
            "Colonnes audience, academie_code, population ; une ligne par public et académie."
        ),
        validators=[FileRequired(message=_l("Choisissez un fichier CSV."))],
    )
    label = StringField(
        _l("Intitulé"),
        validators=[
            DataRequired(message=_l("Donnez un intitulé à cette population de référence.")),
            Length(max=200, message=_l("L’intitulé ne doit pas dépasser 200 caractères.")),
        ],
    )
    source = TextAreaField(
        _l("Source officielle"),
        description=_l("Citation de la source : producteur, publication, année, adresse."),
        validators=[
            DataRequired(message=_l("Citez la source officielle de ces effectifs.")),
            Length(max=2000, message=_l("La source ne doit pas dépasser 2 000 caractères.")),
        ],
    )
