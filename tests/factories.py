"""factory_boy factories. Generated text carries markup so escaping bugs show up in tests."""

from __future__ import annotations

import factory

from consult.db import db
from consult.models import Audience, RoleGrant, User
from consult.security import email_key, fold, hash_password

DEFAULT_PASSWORD = "une phrase de passe solide"
_HASH = hash_password(DEFAULT_PASSWORD)


class UserFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = User
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    pseudonym = factory.Sequence(lambda n: f"Participant<b>{n}")
    pseudonym_key = factory.LazyAttribute(lambda o: fold(o.pseudonym))
    email = factory.Sequence(lambda n: f"personne{n}@exemple.test")
    email_key = factory.LazyAttribute(lambda o: email_key(o.email))
    password_hash = _HASH
    audience = Audience.PROFESSEUR.value
    academie_code = "13"  # Poitiers
    session_version = 1


class RoleGrantFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        model = RoleGrant
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"

    user = factory.SubFactory(UserFactory)
    role = "moderator"
    scope_kind = "national"
    scope_code = ""
