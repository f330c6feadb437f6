"""Factories for the territorial package. Titles carry markup so escaping bugs show."""

from __future__ import annotations

from datetime import timedelta

import factory

from consult.db import db, utcnow
from consult.territorial.models import Event, Idea, NewsItem
from tests.factories import UserFactory


class _Base(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class IdeaFactory(_Base):
    class Meta:
        model = Idea

    author = factory.SubFactory(UserFactory, academie_code="16")
    author_id = factory.SelfAttribute("author.id")
    academie_code = factory.SelfAttribute("author.academie_code")
    author_audience = factory.SelfAttribute("author.audience")
    author_academie_code = factory.SelfAttribute("author.academie_code")
    title = factory.Sequence(lambda n: f"Idée <script>alert({n})</script> numéro {n}")
    body = "Des ordinateurs prêtés aux familles <b>qui</b> n'en ont pas, dès la rentrée."
    support_count = 0
    held_for_review = False
    report_count = 0


class EventFactory(_Base):
    class Meta:
        model = Event

    scope_kind = "academie"
    scope_code = "16"
    title = factory.Sequence(lambda n: f"Atelier <script>x</script> {n}")
    description = "Un atelier pour *partager* les pratiques."
    starts_at = factory.LazyFunction(lambda: utcnow() + timedelta(days=10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=2))
    place = "Rectorat de Toulouse"
    audiences = factory.LazyFunction(lambda: ["parent", "professeur"])
    capacity = None
    registered_count = 0


class NewsFactory(_Base):
    class Meta:
        model = NewsItem

    scope_kind = "academie"
    scope_code = "16"
    title = factory.Sequence(lambda n: f"Actualité <script>x</script> {n}")
    body = "Les **ateliers** commencent."
    published_at = factory.LazyFunction(utcnow)
    updated_at = factory.LazyFunction(utcnow)
