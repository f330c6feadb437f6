"""Administration forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from consult.models import ROLE_LABELS, Role, ScopeKind
from consult.territories import academie_label, catalog


class GrantForm(FlaskForm):
    pseudonym = StringField(
        _l("Pseudonyme du compte"),
        validators=[DataRequired(message=_l("Indiquez un pseudonyme.")), Length(max=64)],
    )
    role = SelectField(
        _l("Rôle"),
        choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role if r is not Role.PARTICIPANT],
    )
    scope = SelectField(_l("Territoire (coordinateurs seulement)"), validators=[Optional()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        cat = catalog()
        self.scope.choices = (
            [SelectChoice("", _l("Aucun (rôle national)"))]
            + [
                SelectChoice(
                    f"{ScopeKind.REGION.value}:{r.code}",
                    str(_l("Région académique %(name)s", name=r.name)),
                )
                for r in cat.regions_sorted()
            ]
            + [
                SelectChoice(f"{ScopeKind.ACADEMIE.value}:{a.code}", academie_label(a.name))
                for a in cat.academies_sorted()
            ]
        )
