"""Forum factories. Titles and bodies carry markup so escaping bugs show up."""

from __future__ import annotations

import factory
from sqlalchemy import select

from consult.db import db
from forums.models import Comment, Contribution, SubTheme, Theme
from tests.factories import UserFactory

TEACHING = "enseigner-apprendre"


def theme(slug: str = TEACHING) -> Theme:
    return db.session.scalar(select(Theme).where(Theme.slug == slug))


def first_subtheme(slug: str = TEACHING) -> SubTheme:
    return theme(slug).subthemes[0]


class ContributionFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Contribution
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    author = factory.SubFactory(UserFactory)
    theme = factory.LazyFunction(theme)
    subtheme = factory.LazyAttribute(lambda o: o.theme.subthemes[0])
    title = factory.Sequence(lambda n: f"Proposition <script>alert({n})</script> n°{n}")
    body = "Un **texte** avec <img src=x onerror=alert(1)> et du [lien](javascript:alert(1))."
    excerpt = factory.LazyAttribute(lambda o: o.body[:280])
    author_audience = factory.LazyAttribute(lambda o: o.author.audience)
    author_academie_code = factory.LazyAttribute(lambda o: o.author.academie_code)


class CommentFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = Comment
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    author = factory.SubFactory(UserFactory)
    contribution = factory.SubFactory(ContributionFactory)
    polarity = "pour"
    body = factory.Sequence(lambda n: f"Commentaire <b>{n}</b>")
    author_audience = factory.LazyAttribute(lambda o: o.author.audience)
    author_academie_code = factory.LazyAttribute(lambda o: o.author.academie_code)
