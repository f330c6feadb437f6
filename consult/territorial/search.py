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
    # Columns, not entities: an idea loads its author eagerly.
    found = session.execute(
        select(Idea.id, Idea.title, Idea.body, Idea.academie_code, Idea.created_at).where(
            Idea.id.in_(ids), Idea.is_public
        )
    )
    return {
        row_id: Hit(
            kind="idea",
            id=row_id,
            title=title,
            text=plain_text(body),
            endpoint="territories.idea",
            values={"idea_id": row_id},
            context=academie_label(academies[code].name) if code in academies else "",
            date=created_at,
        )
        for row_id, title, body, code, created_at in found
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
