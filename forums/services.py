"""Forum logic: posting, editing, withdrawing, voting, commenting. Takes the session and never
commits; refusals raise :class:`ForumError` with a French message and an HTTP status."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from consult.db import utcnow, without_waiting_for_disk
from consult.models import AuthorSnapshot, User
from consult.moderation import visibility_changed
from consult.notifications import dispatch
from consult.permissions import may_participate, participation_refusal
from consult.text import hold_for_personal_data, plain_text
from consult.web import ConsultError
from forums.models import (
    BODY_MAX,
    COMMENT_MAX,
    EXCERPT_LENGTH,
    TITLE_MAX,
    Comment,
    Contribution,
    Polarity,
    SubTheme,
    Theme,
    Vote,
    VoteValue,
    wilson_lower_bound_sql,
)
from forums.permissions import EDIT_WINDOW

RETRACT = "retract"
SHUFFLE_RANGE = 2**31 - 1


class ForumError(ConsultError):
    """A refusal from the forums (see consult.web.ConsultError)."""


def _excerpt(body: str) -> str:
    text = " ".join(plain_text(body).split())
    if len(text) <= EXCERPT_LENGTH:
        return text
    return text[: EXCERPT_LENGTH - 1].rsplit(" ", 1)[0] + "…"


def _must_hold(author: User, *texts: str, confirmed: bool = False) -> bool:
    # Contact details never go public before a moderator has looked (consult.text's rule).
    return hold_for_personal_data(author, *texts, confirmed=confirmed)


def _check_writer(user: User) -> None:
    if not may_participate(user):
        raise ForumError(participation_refusal(), 403)


def _check_open(theme: Theme) -> None:
    if not theme.is_open():
        raise ForumError(_("Ce forum est fermé : on peut le lire, plus y participer."), 409)


def _clean(text: str | None, maximum: int, empty: str, too_long: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ForumError(empty, 422)
    if len(text) > maximum:
        raise ForumError(too_long, 422)
    return text


def _clean_title(title: str | None) -> str:
    return " ".join(
        _clean(
            title,
            TITLE_MAX,
            _("Donnez un titre à votre contribution."),
            _("Le titre dépasse 150 caractères."),
        ).split()
    )


def _clean_body(body: str | None) -> str:
    return _clean(
        body,
        BODY_MAX,
        _("Écrivez votre contribution."),
        _("La contribution dépasse 5 000 caractères."),
    )


def _subtheme(session: Session, theme: Theme, subtheme_id: int | None) -> SubTheme:
    subtheme = session.get(SubTheme, subtheme_id) if subtheme_id else None
    if subtheme is None or subtheme.theme_id != theme.id:
        raise ForumError(_("Choisissez un sous-thème de ce forum."), 422)
    return subtheme


# --- Contributions -----------------------------------------------------------------------------


def post_contribution(
    session: Session,
    author: User,
    theme: Theme,
    subtheme_id: int | None,
    title: str,
    body: str,
    *,
    personal_data_confirmed: bool = False,
) -> Contribution:
    _check_writer(author)
    _check_open(theme)
    subtheme = _subtheme(session, theme, subtheme_id)
    title, body = _clean_title(title), _clean_body(body)
    contribution = Contribution(
        theme_id=theme.id,
        subtheme_id=subtheme.id,
        author_id=author.id,
        title=title,
        body=body,
        excerpt=_excerpt(body),
        held_for_review=_must_hold(author, title, body, confirmed=personal_data_confirmed),
        **AuthorSnapshot.snapshot_of(author),
    )
    session.add(contribution)
    session.flush()
    dispatch(session, "contribution", contribution)
    return contribution


def record_meeting_contribution(
    session: Session,
    organiser: User,
    event: Any,
    subtheme_id: int | None,
    audience: str,
    title: str,
    body: str,
) -> Contribution:
    """A contribution collected in the room of a meeting, typed in by its organiser (the view
    checks the territorial EVENT_ORGANISE policy). Authored by the organiser's account, under
    the audience the speaker declared; the académie is the meeting's (none for a national or
    régional one). Nothing about the speaker is stored beyond that audience."""
    from consult.models import Audience

    _check_writer(organiser)
    if audience not in {a.value for a in Audience}:
        raise ForumError(_("Choisissez le public de la personne qui s'est exprimée."), 422)
    if event.starts_at > utcnow():
        raise ForumError(
            _("Les contributions se recueillent une fois la rencontre commencée."), 409
        )
    subtheme = session.get(SubTheme, subtheme_id) if subtheme_id else None
    if subtheme is None:
        raise ForumError(_("Choisissez un sous-thème."), 422)
    theme = subtheme.theme
    _check_open(theme)
    title, body = _clean_title(title), _clean_body(body)
    contribution = Contribution(
        theme_id=theme.id,
        subtheme_id=subtheme.id,
        author_id=organiser.id,
        title=title,
        body=body,
        excerpt=_excerpt(body),
        # A speaker's contact details typed in from paper wait for a moderator, unasked.
        held_for_review=_must_hold(organiser, title, body, confirmed=True),
        meeting_event_id=event.id,
        author_audience=audience,
        author_academie_code=event.scope_code if event.scope_kind == "academie" else None,
    )
    session.add(contribution)
    session.flush()
    return contribution


def meeting_contributions(session: Session, event_id: int) -> list[Contribution]:
    return list(
        session.scalars(
            select(Contribution)
            .where(Contribution.meeting_event_id == event_id, Contribution.is_public)
            .order_by(Contribution.id)
        )
    )


def edit_contribution(
    session: Session,
    author: User,
    contribution: Contribution,
    subtheme_id: int | None,
    title: str,
    body: str,
    *,
    personal_data_confirmed: bool = False,
) -> Contribution:
    _check_writer(author)
    if contribution.author_id != author.id:
        raise ForumError(_("Seul l'auteur peut modifier sa contribution."), 403)
    if contribution.is_withdrawn or contribution.hidden_at is not None:
        raise ForumError(_("Cette contribution ne peut plus être modifiée."), 409)
    _check_open(contribution.theme)
    if contribution.vote_count:
        raise ForumError(_("Elle a déjà reçu des votes : elle ne peut plus être modifiée."), 409)
    if utcnow() - contribution.created_at > EDIT_WINDOW:
        raise ForumError(
            _("Le délai de 30 minutes pour modifier cette contribution est écoulé."), 409
        )
    subtheme = _subtheme(session, contribution.theme, subtheme_id)
    title, body = _clean_title(title), _clean_body(body)
    # Decided before anything changes: an unconfirmed warning leaves the contribution as it was.
    hold = _must_hold(author, title, body, confirmed=personal_data_confirmed)
    contribution.title, contribution.body = title, body
    contribution.subtheme_id = subtheme.id
    contribution.excerpt = _excerpt(contribution.body)
    contribution.updated_at = utcnow()
    if hold:
        contribution.held_for_review = True
    return contribution


def withdraw(session: Session, author: User, contribution: Contribution) -> Contribution:
    if contribution.author_id != author.id:
        raise ForumError(_("Seul l'auteur peut retirer sa contribution."), 403)
    if contribution.is_withdrawn:
        raise ForumError(_("Cette contribution est déjà retirée."), 409)
    contribution.withdrawn_at = utcnow()
    visibility_changed(session)
    return contribution


# --- Votes -------------------------------------------------------------------------------------


@dataclass
class VoteResult:
    adopt_count: int
    refuse_count: int
    mine: str | None


def _check_debatable(user: User, contribution: Contribution) -> None:
    _check_writer(user)
    if not contribution.is_visible:
        raise ForumError(_("Cette contribution n'existe pas ou n'est pas publiée."), 404)
    if contribution.is_withdrawn:
        raise ForumError(_("Cette contribution a été retirée par son auteur."), 409)
    _check_open(contribution.theme)


@functools.cache
def _counts_update() -> Any:
    """The counters' increments and the Wilson bound of the values they give, one statement
    built once (the bound is a large expression: building it per vote cost more than running
    it)."""
    table = Contribution.__table__
    adopt_count = table.c.adopt_count + bindparam("adopt_delta")
    refuse_count = table.c.refuse_count + bindparam("refuse_delta")
    return (
        update(table)
        .where(table.c.id == bindparam("contribution_id"))
        .values(
            adopt_count=adopt_count,
            refuse_count=refuse_count,
            wilson=wilson_lower_bound_sql(adopt_count, refuse_count),
        )
        .returning(table.c.adopt_count, table.c.refuse_count, table.c.wilson)
    )


def _apply_counts(
    session: Session, contribution: Contribution, adopt: int, refuse: int
) -> tuple[int, int]:
    """Atomic increments and the ranking score, in one statement: the row stays locked until
    commit, so no other vote interleaves."""
    row = session.execute(
        _counts_update(),
        {"contribution_id": contribution.id, "adopt_delta": adopt, "refuse_delta": refuse},
    ).one()
    set_committed_value(contribution, "adopt_count", row.adopt_count)
    set_committed_value(contribution, "refuse_count", row.refuse_count)
    set_committed_value(contribution, "wilson", row.wilson)
    return row.adopt_count, row.refuse_count


def _delta(value: str, sign: int) -> tuple[int, int]:
    return (sign, 0) if value == VoteValue.ADOPT else (0, sign)


@functools.cache
def _first_vote(dialect: str) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id, in the dialect's own words (PostgreSQL and
    SQLite), built once with bound parameters so its compiled form is reused."""
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    votes = Vote.__table__
    return (
        insert(votes)
        .values(
            contribution_id=bindparam("contribution_id"),
            user_id=bindparam("user_id"),
            value=bindparam("value"),
            created_at=bindparam("now"),
            updated_at=bindparam("now"),
            author_audience=bindparam("author_audience"),
            author_academie_code=bindparam("author_academie_code"),
        )
        .on_conflict_do_nothing(index_elements=["contribution_id", "user_id"])
        .returning(votes.c.id)
    )


def vote(session: Session, voter: User, contribution: Contribution, value: str) -> VoteResult:
    """Adopt, refuse, change one's vote or retract it (``value`` = "retract").

    One statement decides each case against the row as it is (the unique constraint on
    (contribution, person) is the guard, no lock taken beforehand): a first vote is an
    INSERT that does nothing if a vote exists, a change an UPDATE of a different value, a
    retraction a DELETE that says which value went. Whatever races with it (the same person's
    double click, another tab changing the vote), the counters move by what the statement did.
    """
    if value not in (VoteValue.ADOPT, VoteValue.REFUSE, RETRACT):
        raise ForumError(_("Vote inconnu : choisissez « J'adopte » ou « Je refuse »."), 422)
    _check_debatable(voter, contribution)
    if contribution.author_id == voter.id:
        raise ForumError(_("Vous ne pouvez pas voter pour votre propre contribution."), 403)
    # A vote can be cast again: its commit need not wait for the disk (VOTE_ASYNC_COMMIT).
    without_waiting_for_disk(session, "VOTE_ASYNC_COMMIT")
    votes = Vote.__table__
    mine = and_(votes.c.contribution_id == contribution.id, votes.c.user_id == voter.id)
    if value == RETRACT:
        old = session.execute(delete(votes).where(mine).returning(votes.c.value)).scalar()
        if old is None:
            return VoteResult(contribution.adopt_count, contribution.refuse_count, None)
        adopt, refuse = _apply_counts(session, contribution, *_delta(old, -1))
        return VoteResult(adopt, refuse, None)
    now = utcnow()
    snapshot = AuthorSnapshot.snapshot_of(voter)
    inserted = session.execute(
        _first_vote(session.get_bind().dialect.name),
        {
            "contribution_id": contribution.id,
            "user_id": voter.id,
            "value": value,
            "now": now,
            **snapshot,
        },
    ).scalar()
    if inserted is not None:
        adopt, refuse = _apply_counts(session, contribution, *_delta(value, +1))
        return VoteResult(adopt, refuse, value)
    # A vote exists: a change of mind moves it to the other value (two values only), with the
    # voter's current snapshot; the same vote again changes nothing.
    changed = session.execute(
        update(votes)
        .where(mine, votes.c.value != value)
        .values(value=value, updated_at=now, **snapshot)
        .returning(votes.c.id)
    ).scalar()
    if changed is None:
        return VoteResult(contribution.adopt_count, contribution.refuse_count, value)
    other = VoteValue.REFUSE if value == VoteValue.ADOPT else VoteValue.ADOPT
    old_adopt, old_refuse = _delta(other, -1)
    new_adopt, new_refuse = _delta(value, +1)
    adopt, refuse = _apply_counts(
        session, contribution, old_adopt + new_adopt, old_refuse + new_refuse
    )
    return VoteResult(adopt, refuse, value)


def my_vote(session: Session, user: User | None, contribution: Contribution) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    return session.scalar(
        select(Vote.value).where(Vote.contribution_id == contribution.id, Vote.user_id == user.id)
    )


def my_votes(session: Session, user: User | None, ids: list[int]) -> dict[int, str]:
    if user is None or not user.is_authenticated or not ids:
        return {}
    rows = session.execute(
        select(Vote.contribution_id, Vote.value).where(
            Vote.user_id == user.id, Vote.contribution_id.in_(ids)
        )
    )
    return dict(rows.all())


# --- Comments ----------------------------------------------------------------------------------


def _comment_counts(session: Session, comment: Comment, sign: int) -> None:
    table = Contribution.__table__
    values = {"comment_count": table.c.comment_count + sign}
    if comment.parent_id is None:
        column = "pour_count" if comment.polarity == Polarity.POUR else "contre_count"
        values[column] = table.c[column] + sign
    session.execute(update(table).where(table.c.id == comment.contribution_id).values(**values))
    session.expire(comment.contribution, ["comment_count", "pour_count", "contre_count"])


def add_comment(
    session: Session,
    author: User,
    contribution: Contribution,
    polarity: str | None,
    body: str,
    parent_id: int | None = None,
    *,
    personal_data_confirmed: bool = False,
) -> Comment:
    _check_debatable(author, contribution)
    parent = None
    if parent_id:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.contribution_id != contribution.id or not parent.is_visible:
            raise ForumError(_("Le commentaire auquel vous répondez n'existe pas."), 404)
        if parent.parent_id is not None:
            raise ForumError(_("On ne peut répondre qu'à un commentaire, pas à une réponse."), 422)
        # A reply sits in its parent's column.
        polarity = parent.polarity
    if polarity not in (Polarity.POUR, Polarity.CONTRE):
        raise ForumError(_("Choisissez si votre commentaire est pour ou contre."), 422)
    body = _clean(
        body,
        COMMENT_MAX,
        _("Écrivez votre commentaire."),
        _("Le commentaire dépasse 3 000 caractères."),
    )
    comment = Comment(
        contribution_id=contribution.id,
        parent_id=parent.id if parent else None,
        author_id=author.id,
        polarity=polarity,
        body=body,
        held_for_review=_must_hold(author, body, confirmed=personal_data_confirmed),
        **AuthorSnapshot.snapshot_of(author),
    )
    session.add(comment)
    session.flush()
    if comment.is_visible:
        _comment_counts(session, comment, +1)
    dispatch(session, "comment", comment)
    return comment


def comment_visibility_changed(session: Session, comment: Comment, was_visible: bool) -> None:
    """Moderation hid, restored or released a comment: the visible counts follow."""
    _comment_counts(session, comment, +1 if comment.is_visible else -1)


# --- Personal data -----------------------------------------------------------------------------


def personal_data(session: Session, user: User) -> dict:
    def when(value) -> str:
        return value.isoformat(timespec="seconds")

    return {
        "forum_contributions": [
            {
                "id": c.id,
                "theme": c.theme.slug,
                "title": c.title,
                "body": c.body,
                "created_at": when(c.created_at),
                "withdrawn": c.is_withdrawn,
                "hidden_reason": c.hidden_reason,
            }
            for c in session.scalars(
                select(Contribution)
                .where(Contribution.author_id == user.id)
                .order_by(Contribution.id)
            )
        ],
        "forum_votes": [
            {"contribution_id": v.contribution_id, "value": v.value, "at": when(v.updated_at)}
            for v in session.scalars(select(Vote).where(Vote.user_id == user.id).order_by(Vote.id))
        ],
        "forum_comments": [
            {
                "id": c.id,
                "contribution_id": c.contribution_id,
                "polarity": c.polarity,
                "body": c.body,
                "created_at": when(c.created_at),
            }
            for c in session.scalars(
                select(Comment).where(Comment.author_id == user.id).order_by(Comment.id)
            )
        ],
    }


def erase_account(session: Session, user: User) -> None:
    """Published contributions, comments and votes stay (under « Compte supprimé »); content
    held because it carried the author's contact details is never published: it goes."""
    from sqlalchemy import delete

    session.execute(
        delete(Comment).where(Comment.author_id == user.id, Comment.held_for_review.is_(True))
    )
    held = select(Contribution.id).where(
        Contribution.author_id == user.id, Contribution.held_for_review.is_(True)
    )
    session.execute(delete(Vote).where(Vote.contribution_id.in_(held)))
    session.execute(delete(Comment).where(Comment.contribution_id.in_(held)))
    session.execute(
        delete(Contribution).where(
            Contribution.author_id == user.id, Contribution.held_for_review.is_(True)
        )
    )
