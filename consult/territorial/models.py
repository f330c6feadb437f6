"""Territorial expression: ideas box per académie, calendar of events, news per territory."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow
from consult.models import AuthorSnapshot, User
from consult.moderation.models import Moderatable
from consult.tallies import Tally, register

TITLE_MAX = 160
BODY_MAX = 5000
ANSWER_MAX = 3000
PLACE_MAX = 200
URL_MAX = 500
MINUTES_MAX = 20_000
# Attendance of one audience at one meeting: a stadium at most.
ATTENDANCE_MAX = 100_000


class IdeaStatus(enum.StrEnum):
    A_L_ETUDE = "a_l_etude"
    RETENUE = "retenue"
    NON_RETENUE = "non_retenue"
    REALISEE = "realisee"

    @property
    def label(self) -> str:
        return str(IDEA_STATUS_LABELS[self])


IDEA_STATUS_LABELS = {
    IdeaStatus.A_L_ETUDE: _l("À l'étude"),
    IdeaStatus.RETENUE: _l("Retenue"),
    IdeaStatus.NON_RETENUE: _l("Non retenue"),
    IdeaStatus.REALISEE: _l("Réalisée"),
}


class Idea(Moderatable, AuthorSnapshot, Base):
    """An idea posted to the author's académie; its coordinator answers with a status."""

    __tablename__ = "territorial_idea"
    __table_args__ = (Index("ix_territorial_idea_academie_created", "academie_code", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    academie_code: Mapped[str] = mapped_column(ForeignKey("academie.code"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str | None] = mapped_column(String(20), index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")

    @property
    def status_enum(self) -> IdeaStatus | None:
        return IdeaStatus(self.status) if self.status else None


class IdeaSupport(AuthorSnapshot, Base):
    __tablename__ = "territorial_idea_support"
    __table_args__ = (UniqueConstraint("idea_id", "user_id", name="uq_territorial_idea_support"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idea_id: Mapped[int] = mapped_column(
        ForeignKey("territorial_idea.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Event(Base):
    """A meeting of a territory (or a national one). Times are stored in UTC."""

    __tablename__ = "territorial_event"
    __table_args__ = (
        CheckConstraint("ends_at >= starts_at", name="dates"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "capacity IS NULL OR registered_count <= capacity", name="capacity_respected"
        ),
        CheckConstraint("registered_count >= 0", name="registered_positive"),
        CheckConstraint(
            "capacity IS NULL OR registration_url IS NULL", name="one_registration_mode"
        ),
        Index("ix_territorial_event_scope_start", "scope_kind", "scope_code", "starts_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(10))
    # "" for national events, so the pair stays a plain indexed key on both databases.
    scope_code: Mapped[str] = mapped_column(String(3), default="")
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    place: Mapped[str | None] = mapped_column(String(PLACE_MAX))
    online_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    audiences: Mapped[list[str]] = mapped_column(JSON, default=list)
    registration_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    capacity: Mapped[int | None] = mapped_column(Integer)
    registered_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    # Written by coordinators and published as soon as saved: no non-public state. Declared
    # so every kind answers the same question the same way (readers filter on it).
    @hybrid_property
    def is_public(self) -> bool:
        return True

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return true()

    @property
    def places_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.registered_count, 0)


class RegistrationStatus(enum.StrEnum):
    REGISTERED = "registered"
    # On the waiting list: the place goes to the oldest waiting row (lowest id) when one frees.
    WAITING = "waiting"


class EventRegistration(AuthorSnapshot, Base):
    """A place (or a place in the waiting list) of one person at one event. Only the audience
    and académie snapshot describe the person: the organiser sees pseudonyms and counts."""

    __tablename__ = "territorial_event_registration"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", name="uq_territorial_event_registration"),
        CheckConstraint("status IN ('registered', 'waiting')", name="status"),
        Index("ix_territorial_event_registration_queue", "event_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("territorial_event.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    status: Mapped[str] = mapped_column(
        String(10), default=RegistrationStatus.REGISTERED, server_default="registered"
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set by the reminder job in the transaction that queues the email: sent once.
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User] = relationship(lazy="joined")
    event: Mapped[Event] = relationship()

    @property
    def waiting(self) -> bool:
        return self.status == RegistrationStatus.WAITING


class EventMinutes(Base):
    """The compte rendu of a meeting: text, attendance as counts by audience (never names)."""

    __tablename__ = "territorial_event_minutes"
    __table_args__ = (UniqueConstraint("event_id", name="uq_territorial_event_minutes_event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("territorial_event.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    # {audience: count}; only the five audiences, counts >= 0.
    attendance: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship(lazy="joined")
    author: Mapped[User | None] = relationship(lazy="joined")

    @property
    def attendance_total(self) -> int:
        return sum(self.attendance.values())

    # Published by the event's organiser as soon as saved, like the event itself.
    @hybrid_property
    def is_public(self) -> bool:
        return True

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return true()


class EventAttachment(Base):
    """A file of a meeting's minutes (PDF or image: the shared upload rules of consult.uploads),
    stored under the instance folder, public with the minutes."""

    __tablename__ = "territorial_event_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("territorial_event.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(160), default="")
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NewsItem(Base):
    __tablename__ = "territorial_news"
    __table_args__ = (
        Index("ix_territorial_news_scope_published", "scope_kind", "scope_code", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(10))
    scope_code: Mapped[str] = mapped_column(String(3), default="")
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    author: Mapped[User | None] = relationship(lazy="joined")

    # Written by coordinators and published as soon as saved: no non-public state. Declared
    # so every kind answers the same question the same way (readers filter on it).
    @hybrid_property
    def is_public(self) -> bool:
        return True

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return true()


# Public ideas per académie and the supports they show: the figures of the home page,
# /territoires/ and the territory pages, kept by triggers at write time (consult/tallies.py).
IDEA_TALLY = register(
    Tally(
        "territorial_idea_tally",
        source="territorial_idea",
        model="consult.territorial.models:Idea",
        group="academie_code",
        sums=("support_count",),
    )
)
