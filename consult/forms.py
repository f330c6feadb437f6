"""Form pieces shared by every package that publishes text people write."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField


class PersonalDataConfirmation:
    """Mixed into every form of public text: the box an adult ticks to publish text holding
    contact details anyway (it is then held for a moderator). The view sets
    ``personal_data_kinds`` when the warning must show (see ``consult.text``)."""

    personal_data_kinds: list[str] | None = None

    confirm_personal_data = BooleanField(
        _l("Publier quand même : mon texte sera relu par l'équipe de modération avant publication")
    )

    @property
    def personal_data_message(self) -> str:
        from consult.text import personal_data_warning

        return personal_data_warning(self.personal_data_kinds or [])
