"""Follows, notifications and email preferences (one row per person and kind of event)."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from consult.db import Base, utcnow


class Event(enum.StrEnum):
    """What a person can be told about. Each is one line of the email settings."""

    COMMENT = "comment"  # a comment or reply on a contribution I follow (mine included)
    REPLY = "reply"  # a reply to my comment
    NEW_CONTRIBUTION = "new_contribution"  # in a theme I follow
    IDEA_ANSWER = "idea_answer"  # the coordinator answered an idea I follow (mine included)
    RETEX_REVIEW = "retex_review"  # my Retex sheet was published or returned
    TERRITORY_EVENT = "territory_event"  # a new meeting in an académie I follow
    TERRITORY_NEWS = "territory_news"  # news in an académie I follow

    @property
    def label(self) -> str:
        return str(EVENT_LABELS[self])


EVENT_LABELS = {
    Event.COMMENT: _l("Commentaires sur les contributions que je suis (dont les miennes)"),
    Event.REPLY: _l("Réponses à mes commentaires"),
    Event.NEW_CONTRIBUTION: _l("Nouvelles contributions dans les thèmes que je suis"),
    Event.IDEA_ANSWER: _l("Réponses aux idées que je suis (dont les miennes)"),
    Event.RETEX_REVIEW: _l("Décision de relecture sur mes fiches Retex"),
    Event.TERRITORY_EVENT: _l("Nouvelles rencontres dans les académies que je suis"),
    Event.TERRITORY_NEWS: _l("Actualités des académies que je suis"),
}


class Delivery(enum.StrEnum):
    NONE = "none"
    IMMEDIATE = "immediate"
    DAILY = "daily"

    @property
    def label(self) -> str:
        return str(DELIVERY_LABELS[self])


DELIVERY_LABELS = {
    Delivery.NONE: _l("Pas de courriel"),
    Delivery.IMMEDIATE: _l("Un courriel à chaque fois"),
    Delivery.DAILY: _l("Un résumé par jour"),
}


class Follow(Base):
    """One person follows one thing: a contribution, a theme, an idea, a Retex sheet or an
    académie. The key is a string so an académie code and an integer id share the column."""

    __tablename__ = "notification_follow"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", "key", name="uq_notification_follow"),
        Index("ix_notification_follow_target", "kind", "key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Notification(Base):
    """One thing one person is told. Unique per (person, event, subject): dispatching the same
    event twice (a comment hidden then restored) never tells anyone twice. The text is not
    stored: it is read from the subject when shown, through the visibility rule."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "event", "subject_kind", "subject_id", name="uq_notification_subject"
        ),
        Index("ix_notification_user_unread", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(30))
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Set once an email (immediate or digest) carried it, or it was decided none would.
    mailed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    @property
    def event_enum(self) -> Event:
        return Event(self.event)


class Preference(Base):
    """How one person wants to hear about one kind of event by email. No row: no email
    (email is opt-in)."""

    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "event", name="uq_notification_preference"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(30))
    delivery: Mapped[str] = mapped_column(String(10), default=Delivery.NONE.value)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
