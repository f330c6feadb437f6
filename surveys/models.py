"""Questionnaire tables.

Privacy by construction: a submitted ``SurveyResponse`` has no link to any account (only the
audience/académie snapshot and the time); the account keeps a ``SurveyParticipation`` row,
which says "has answered" and carries the one-response-per-participant unique constraint.
Drafts do belong to their author (or to an access code) and disappear on submission.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow
from consult.models import AuthorSnapshot
from surveys import engine


class Questionnaire(Base):
    __tablename__ = "survey_questionnaire"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(60), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    # The whole definition, as in the versioned file (engine.parse checks it).
    definition_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(DateTime)
    closes_at: Mapped[datetime] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def definition(self) -> engine.Definition:
        # Parsing is cheap but not free; cache per instance and data identity.
        cached = self.__dict__.get("_parsed")
        if cached is None or cached[0] is not self.definition_data:
            cached = (self.definition_data, engine.parse(self.definition_data))
            self.__dict__["_parsed"] = cached
        return cached[1]

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at

    def has_opened(self, now: datetime) -> bool:
        return now >= self.opens_at


class SurveyResponse(AuthorSnapshot, Base):
    """A submitted response: answers keyed by question code, no account link."""

    __tablename__ = "survey_response"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questionnaire.id", ondelete="CASCADE"), index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # JSONB on PostgreSQL: the results aggregate one key over every row, and JSONB reads a key
    # without re-parsing the whole document.
    answers: Mapped[dict[str, Any]] = mapped_column(JSON().with_variant(JSONB(), "postgresql"))
    # Free text mentioning an email or a phone number: masked in exports and results.
    has_personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    via_code: Mapped[bool] = mapped_column(Boolean, default=False)


class AnswerTally(Base):
    """Answers counted per question × option × académie × audience, written by the database's
    triggers on ``survey_response`` only (``surveys/tally.py`` says what each kind of row counts).
    """

    __tablename__ = "survey_answer_tally"
    __table_args__ = (
        PrimaryKeyConstraint(
            "questionnaire_id",
            "kind",
            "question_key",
            "option_key",
            "academie_code",
            "audience",
            "shard",
            name="pk_survey_answer_tally",
        ),
    )

    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questionnaire.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(1))  # n, v, b, f
    question_key: Mapped[str] = mapped_column(String(40))  # "" on n rows
    option_key: Mapped[str] = mapped_column(String)  # "" on n and b rows
    academie_code: Mapped[str] = mapped_column(String(3))  # "" for responses without académie
    audience: Mapped[str] = mapped_column(String(20))
    shard: Mapped[int] = mapped_column(SmallInteger)
    count: Mapped[int] = mapped_column(Integer)


class SurveyParticipation(Base):
    """ "This account has answered": the only trace of a response left on the account."""

    __tablename__ = "survey_participation"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "user_id", name="uq_survey_participation"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questionnaire.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AccessCodeBatch(Base):
    """Codes printed for one class or meeting, by a coordinator of the territory."""

    __tablename__ = "survey_code_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questionnaire.id", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(120))
    audience: Mapped[str] = mapped_column(String(20))
    academie_code: Mapped[str] = mapped_column(ForeignKey("academie.code"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # The meeting whose paper questionnaires these codes type in (optional).
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("territorial_event.id", ondelete="SET NULL"), index=True
    )

    codes: Mapped[list[AccessCode]] = relationship(
        back_populates="batch", order_by="AccessCode.id", cascade="all, delete-orphan"
    )


class AccessCode(Base):
    __tablename__ = "survey_access_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        ForeignKey("survey_code_batch.id", ondelete="CASCADE"), index=True
    )
    # Normalised: upper case, no separators.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    batch: Mapped[AccessCodeBatch] = relationship(back_populates="codes")


class SurveyDraft(Base):
    """Answers saved before submission, owned by an account or by an access code."""

    __tablename__ = "survey_draft"
    __table_args__ = (
        UniqueConstraint("questionnaire_id", "user_id", name="uq_survey_draft_user"),
        UniqueConstraint("access_code_id", name="uq_survey_draft_code"),
        CheckConstraint("(user_id IS NULL) <> (access_code_id IS NULL)", name="one_owner"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questionnaire.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    access_code_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_access_code.id", ondelete="CASCADE")
    )
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    page: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
