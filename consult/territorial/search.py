"""The ideas box in the shared search (consult/search)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.moderation import public_sql
from consult.search import Hit, Source, ddl, register_source


def _public(dialect) -> str:
    from consult.territorial.models import Idea

    return public_sql(Idea, "t", dialect)


def _load(session: Session, ids: list[int]) -> dict[int, Hit]:
    from consult.territorial.models import Idea
    from consult.territories import academie_label, catalog
    from consult.text import plain_text

    academies = catalog().academies
    found = session.scalars(select(Idea).where(Idea.id.in_(ids), Idea.is_public))
    return {
        idea.id: Hit(
            kind="idea",
            id=idea.id,
            title=idea.title,
            text=plain_text(idea.body),
            endpoint="territories.idea",
            values={"idea_id": idea.id},
            context=academie_label(academies[idea.academie_code].name)
            if idea.academie_code in academies
            else "",
            date=idea.created_at,
        )
        for idea in found
    }


def register() -> None:
    register_source(
        Source(
            kind="idea",
            label=_l("Idées des territoires"),
            indexed=ddl.IDEAS,
            public=_public,
            load=_load,
            position=20,
        )
    )
