"""« Masqués »: moderators see what moderation hid or holds in their scope, and undo it
(« Rétablir », « Publier ») through the moderation service: audited, and public again by the one
visibility rule."""

from __future__ import annotations

from sqlalchemy import select

from consult.db import utcnow
from consult.models import AuditEvent
from consult.moderation import services
from forums.models import Contribution
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory
from tests.territorial_factories import IdeaFactory

MASKED = "/moderation/masques"


def _world(session):
    hidden = ContributionFactory(
        title="Contribution masquée ZQMASK", hidden_at=utcnow(), hidden_reason="Hors charte"
    )
    withdrawn = ContributionFactory(title="Retirée par son auteur ZQWITH", withdrawn_at=utcnow())
    public = ContributionFactory(title="Contribution publique ZQPUB")
    held_comment = CommentFactory(contribution=public, body="Commentaire retenu ZQHELD")
    held_comment.held_for_review = True
    idea = IdeaFactory(
        title="Idée masquée de Toulouse ZQIDEA", academie_code="16", hidden_at=utcnow()
    )
    session.flush()
    return {
        "hidden": hidden,
        "withdrawn": withdrawn,
        "public": public,
        "comment": held_comment,
        "idea": idea,
    }


def test_moderator_lists_hidden_and_held_content_and_nothing_else(client, session) -> None:
    world = _world(session)
    moderator = RoleGrantFactory(role="moderator").user
    client.login(moderator.email)
    page = client.get(MASKED)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "ZQMASK" in html and "Hors charte" in html
    assert "ZQIDEA" in html  # national moderators see every territory
    assert "Retenu avant publication" in html  # the held comment, with « Publier »
    assert "ZQWITH" not in html  # withdrawn by its author: not moderation's to undo
    assert f'data-masked="contribution-{world["public"].id}"' not in html
    assert f'data-masked="comment-{world["comment"].id}"' in html
    assert "Rétablir" in html and "Publier" in html
    # The queue links to it, and back.
    assert MASKED in client.get("/moderation/").get_data(as_text=True)


def test_a_coordinator_sees_only_their_territory(client, session) -> None:
    _world(session)
    elsewhere = RoleGrantFactory(role="coordinator", scope_kind="academie", scope_code="13").user
    here = RoleGrantFactory(role="coordinator", scope_kind="academie", scope_code="16").user
    client.login(elsewhere.email)
    html = client.get(MASKED).get_data(as_text=True)
    assert "ZQIDEA" not in html and "ZQMASK" not in html
    client.logout()
    client.login(here.email)
    html = client.get(MASKED).get_data(as_text=True)
    assert "ZQIDEA" in html and "ZQMASK" not in html  # forum content is national


def test_restore_makes_it_public_again_and_is_audited(client, session) -> None:
    world = _world(session)
    hidden = world["hidden"]
    moderator = RoleGrantFactory(role="moderator").user
    client.login(moderator.email)
    response = client.submit(
        f"/moderation/contribution/{hidden.id}/retablir", {"next": MASKED}, page=MASKED
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(MASKED)
    assert "ZQMASK" not in client.get(MASKED).get_data(as_text=True)
    session.refresh(hidden)
    assert hidden.is_public
    assert hidden.id in session.scalars(select(Contribution.id).where(Contribution.is_public))
    assert session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "moderation.restore", AuditEvent.target_id == str(hidden.id)
        )
    )
    assert client.get(f"/forums/contributions/{hidden.id}").status_code == 200


def test_participants_and_anonymous_visitors_are_kept_out(client, session) -> None:
    hidden = _world(session)["hidden"]
    assert client.get(MASKED).status_code in (302, 401)
    client.login(UserFactory().email)
    assert client.get(MASKED).status_code == 403
    token = client.csrf_token("/")
    response = client.post(
        f"/moderation/contribution/{hidden.id}/retablir", data={"csrf_token": token}
    )
    assert response.status_code == 403
    session.refresh(hidden)
    assert hidden.hidden_at is not None


def test_hostile_paging_and_restore_without_csrf(client, session) -> None:
    hidden = _world(session)["hidden"]
    moderator = RoleGrantFactory(role="moderator").user
    client.login(moderator.email)
    for query in ("?page=-3", "?page=abc", "?page=99999999999999999999999", "?page=%00"):
        assert client.get(MASKED + query).status_code in (200, 400), query
    assert client.get(MASKED + "?page=999").status_code == 404
    response = client.post(f"/moderation/contribution/{hidden.id}/retablir", data={})
    assert response.status_code in (400, 422)
    session.refresh(hidden)
    assert hidden.hidden_at is not None


def test_pages_of_twenty(session) -> None:
    moderator = RoleGrantFactory(role="moderator").user
    for _ in range(services.MASKED_PAGE_SIZE + 3):
        ContributionFactory(hidden_at=utcnow(), hidden_reason="x")
    session.flush()
    first, total = services.masked(session, moderator, 1)
    second, _total = services.masked(session, moderator, 2)
    assert total >= services.MASKED_PAGE_SIZE + 3
    assert len(first) == services.MASKED_PAGE_SIZE
    assert {i.target.id for i in first}.isdisjoint({i.target.id for i in second})
