"""Retex sheets in the shared search (consult/search): the current published version of each
public sheet is what is found (older versions stay indexed, the join leaves them out)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consult.moderation import public_sql
from consult.search import Hit, Source, ddl, register_source


def _public(dialect) -> str:
    from retex.models import RetexSheet

    return public_sql(RetexSheet, "s", dialect)


def _load(session: Session, ids: list[int]) -> dict[int, Hit]:
    from retex.models import RetexRevision
    from retex.queries import current_revisions

    found = session.scalars(current_revisions().where(RetexRevision.id.in_(ids)))
    return {
        revision.id: Hit(
            kind="retex",
            id=revision.id,
            title=revision.title,
            # search_text repeats the title first: the excerpt starts after it.
            text=revision.search_text.removeprefix(revision.title).lstrip(),
            endpoint="retex.show",
            values={"sheet_id": revision.sheet_id},
            date=revision.published_at,
        )
        for revision in found
    }


def register() -> None:
    register_source(
        Source(
            kind="retex",
            label=_l("Fiches Retex"),
            indexed=ddl.RETEX,
            public=_public,
            load=_load,
            join="JOIN retex_sheet s ON s.id = t.sheet_id AND s.published_version = t.version",
            position=30,
        )
    )
