"""Forums: five themes with sub-themes, contributions, adopt/refuse votes, pour/contre comments."""

from __future__ import annotations

import enum
import math
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    and_,
    case,
    cast,
    exists,
    func,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow
from consult.models import AuthorSnapshot, User
from consult.moderation.models import Moderatable
from consult.tallies import Tally, register
from consult.territorial.models import Event

TITLE_MAX = 150
BODY_MAX = 5000
COMMENT_MAX = 3000
EXCERPT_LENGTH = 280


class VoteValue(enum.StrEnum):
    ADOPT = "adopt"
    REFUSE = "refuse"


class Polarity(enum.StrEnum):
    POUR = "pour"
    CONTRE = "contre"

    @property
    def label(self) -> str:
        return str(POLARITY_LABELS[self])


POLARITY_LABELS = {Polarity.POUR: _l("Pour"), Polarity.CONTRE: _l("Contre")}


def _wilson(positive, n, z: float, sqrt):
    """The Wilson lower bound of ``positive`` out of ``n`` (n > 0), written once for numbers
    (``math.sqrt``) and for SQL expressions (``func.sqrt``)."""
    p = positive / n
    denominator = 1 + z * z / n
    centre = p + z * z / (2 * n)
    margin = z * sqrt((p * (1 - p) + z * z / (4 * n)) / n)
    return (centre - margin) / denominator


def wilson_lower_bound(positive: int, negative: int, z: float = 1.96) -> float:
    """Lower bound of the Wilson score interval of the adoption share (95 %): 3 adoptions out
    of 3 rank below 300 out of 320, because so few votes say little."""
    n = positive + negative
    if n == 0:
        return 0.0
    return _wilson(positive, n, z, math.sqrt)


def wilson_lower_bound_sql(positive, negative, z: float = 1.96):
    """The same bound as a SQL expression of two integer expressions: a vote's counter UPDATE
    sets the ranking score in the same statement."""
    n = cast(positive + negative, Float)
    return case((n == 0, 0.0), else_=_wilson(cast(positive, Float), n, z, func.sqrt))


class Theme(Base):
    __tablename__ = "forum_theme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)

    subthemes: Mapped[list[SubTheme]] = relationship(
        back_populates="theme", order_by="SubTheme.position", lazy="selectin"
    )

    def is_open(self, today: date | None = None) -> bool:
        today = today or utcnow().date()
        return self.opens_on <= today <= self.closes_on


class SubTheme(Base):
    __tablename__ = "forum_subtheme"
    __table_args__ = (UniqueConstraint("theme_id", "slug", name="uq_forum_subtheme_slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("forum_theme.id"), index=True)
    slug: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))

    theme: Mapped[Theme] = relationship(back_populates="subthemes")


class Contribution(Moderatable, AuthorSnapshot, Base):
    __tablename__ = "forum_contribution"
    __table_args__ = (
        # One index per sort, led by the theme (or sub-theme) filter, so a page of 20 is an
        # index range scan whatever the table size.
        Index("ix_forum_contribution_theme_wilson", "theme_id", "wilson", "id"),
        Index("ix_forum_contribution_theme_debate", "theme_id", "comment_count", "id"),
        Index("ix_forum_contribution_theme_recent", "theme_id", "created_at", "id"),
        Index("ix_forum_contribution_subtheme_wilson", "subtheme_id", "wilson", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    theme_id: Mapped[int] = mapped_column(ForeignKey("forum_theme.id"))
    subtheme_id: Mapped[int] = mapped_column(ForeignKey("forum_subtheme.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    # Plain-text start of the body, so list pages never render Markdown.
    excerpt: Mapped[str] = mapped_column(String(EXCERPT_LENGTH + 1), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Kept exact by atomic UPDATEs in the transaction that casts the vote or writes the comment.
    adopt_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    refuse_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pour_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    contre_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    wilson: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    # Collected in the room of this meeting (typed in by its organiser, whose account is the
    # author); the audience snapshot is the one the speaker declared. NULL: posted online.
    meeting_event_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_event.id", ondelete="SET NULL"), index=True
    )

    theme: Mapped[Theme] = relationship(lazy="joined")
    subtheme: Mapped[SubTheme] = relationship(lazy="joined")
    author: Mapped[User] = relationship(lazy="joined")
    # Loaded only for the few contributions that came from a meeting (their mark names it).
    meeting_event: Mapped[Event | None] = relationship(lazy="select")

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None

    # Public: past moderation and not withdrawn by its author (a withdrawn contribution
    # stays readable by its author and moderators only).
    @hybrid_property
    def is_public(self) -> bool:
        return self.is_visible and self.withdrawn_at is None

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return and_(cls.is_visible, cls.withdrawn_at.is_(None))

    @property
    def from_meeting(self) -> bool:
        return self.meeting_event_id is not None

    @property
    def vote_count(self) -> int:
        return self.adopt_count + self.refuse_count


class Vote(AuthorSnapshot, Base):
    """One adopt/refuse per person and contribution: the unique constraint enforces it."""

    __tablename__ = "forum_vote"
    __table_args__ = (
        UniqueConstraint("contribution_id", "user_id", name="uq_forum_vote_contribution_user"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("forum_contribution.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    value: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Comment(Moderatable, AuthorSnapshot, Base):
    __tablename__ = "forum_comment"
    __table_args__ = (Index("ix_forum_comment_contribution", "contribution_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contribution_id: Mapped[int] = mapped_column(
        ForeignKey("forum_contribution.id", ondelete="CASCADE")
    )
    # One level of replies: a reply's parent is always a top-level comment.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("forum_comment.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    polarity: Mapped[str] = mapped_column(String(10))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined")
    contribution: Mapped[Contribution] = relationship()

    # Public: past moderation, on a public contribution (a comment never outlives the
    # contribution it answers: withdrawn or hidden, its debate goes with it).
    @hybrid_property
    def is_public(self) -> bool:
        return self.is_visible and self.contribution.is_public

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return and_(
            cls.is_visible,
            exists()
            .where(Contribution.id == cls.contribution_id, Contribution.is_public)
            .correlate_except(Contribution),
        )

    @property
    def polarity_enum(self) -> Polarity:
        return Polarity(self.polarity)


# Public contributions per theme and the votes and comments they show (their own exact
# counters summed): the figures of the home page and /forums/, kept by triggers at write time
# (consult/tallies.py) instead of a scan of every contribution.
THEME_TALLY = register(
    Tally(
        "forum_theme_tally",
        source="forum_contribution",
        model="forums.models:Contribution",
        group="theme_id",
        sums=("adopt_count", "refuse_count", "comment_count"),
    )
)
