"""The territorial demo step: ideas with supports and statuses, events and news everywhere."""

from __future__ import annotations

import random
from contextlib import contextmanager

from sqlalchemy import func, select

from consult.territorial import demo
from consult.territorial.models import Event, EventRegistration, Idea, IdeaSupport, NewsItem
from consult.territories import catalog
from tests.factories import RoleGrantFactory, UserFactory


@contextmanager
def _progress(label, length):
    class Bar:
        def update(self, n):
            pass

    yield Bar()


def test_demo_step_fills_every_academie(session) -> None:
    for i in range(60):
        UserFactory(is_demo=True, academie_code="16" if i % 2 else "13", audience="parent")
    coord = UserFactory()
    RoleGrantFactory(user=coord, role="coordinator", scope_kind="region", scope_code="76")
    demo.generate(session, "tiny", random.Random(1), _progress)

    codes = set(catalog().academies)
    assert (
        set(session.scalars(select(Event.scope_code).where(Event.scope_kind == "academie")))
        == codes
    )
    assert set(session.scalars(select(NewsItem.scope_code))) == codes
    national = session.scalars(select(Event).where(Event.scope_kind == "national")).one()
    assert national.starts_at.date().isoformat() == "2020-11-04"
    assert set(session.scalars(select(Idea.academie_code))) == {"13", "16"}
    statuses = set(session.scalars(select(Idea.status)))
    assert None in statuses and len(statuses) >= 3
    total = session.scalar(select(func.sum(Idea.support_count)))
    assert total and total == session.scalar(select(func.count()).select_from(IdeaSupport))
    # Nobody supports their own idea, and answered ideas carry a public answer.
    own = session.scalar(
        select(func.count())
        .select_from(IdeaSupport)
        .join(Idea, Idea.id == IdeaSupport.idea_id)
        .where(Idea.author_id == IdeaSupport.user_id)
    )
    assert own == 0
    assert (
        session.scalar(select(func.count()).where(Idea.status.is_not(None), Idea.answer.is_(None)))
        == 0
    )
    # Toulouse news are signed by the Occitanie coordinator.
    assert coord.id in set(
        session.scalars(select(NewsItem.author_id).where(NewsItem.scope_code == "16"))
    )
    for event in session.scalars(select(Event).where(Event.capacity.is_not(None))):
        rows = session.scalar(select(func.count()).where(EventRegistration.event_id == event.id))
        assert event.registered_count == rows <= event.capacity
    before = session.scalar(select(func.count()).select_from(Idea))
    demo.generate(session, "tiny", random.Random(1), _progress)
    assert session.scalar(select(func.count()).select_from(Idea)) == before
