"""Shared moderation core, exercised through a throwaway moderatable kind so it does not depend
on any feature package."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from consult import moderation
from consult.models import AuditEvent, User
from consult.moderation import services
from consult.moderation.models import Moderatable, Report
from consult.moderation.permissions import Permission
from consult.moderation.services import ModerationError
from consult.permissions import authorize
from tests.factories import RoleGrantFactory, UserFactory

KIND = "note_test"


class _TestBase(DeclarativeBase):
    pass


class Note(Moderatable, _TestBase):
    """A minimal moderatable model, on its own metadata so migrations never see it."""

    __tablename__ = "moderation_test_note"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    academie_code: Mapped[str | None] = mapped_column(String(3))


@pytest.fixture
def notes(session):
    Note.__table__.create(session.connection())
    moderation.register_kind(
        KIND,
        label="Note",
        load=lambda s, i: s.get(Note, i),
        url=lambda n: f"/notes/{n.id}",
        title=lambda n: n.title,
        excerpt=lambda n: f"Extrait <i>{n.title}</i>",
    )
    yield
    moderation.kinds().pop(KIND, None)


def _note(session, author: User, **kw) -> Note:
    note = Note(author_id=author.id, title=kw.pop("title", "Une <script>note</script>"), **kw)
    session.add(note)
    session.flush()
    return note


def _moderator(role: str = "moderator", **kw) -> User:
    return RoleGrantFactory(role=role, **kw).user


# --- Services -----------------------------------------------------------------------------------


def test_report_counts_and_audits(session, notes) -> None:
    author, reporter = UserFactory(), UserFactory()
    note = _note(session, author)
    entry = services.report(session, reporter, KIND, note.id, "spam", "  pub  ")
    assert entry.text == "pub"
    assert note.report_count == 1
    assert note.is_visible
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.target_type == KIND))
    assert list(actions) == ["moderation.report"]


def test_reporting_own_content_is_refused(session, notes) -> None:
    author = UserFactory()
    note = _note(session, author)
    with pytest.raises(ModerationError) as info:
        services.report(session, author, KIND, note.id, "spam", "")
    assert info.value.status == 403
    assert session.scalar(select(Report.id)) is None


def test_second_report_by_same_person_is_refused_by_the_constraint(session, notes) -> None:
    note = _note(session, UserFactory())
    reporter = UserFactory()
    services.report(session, reporter, KIND, note.id, "spam", "")
    with pytest.raises(ModerationError) as info:
        services.report(session, reporter, KIND, note.id, "autre", "encore")
    assert info.value.status == 409
    # The savepoint kept the first report and the session usable.
    assert session.scalar(select(Report.reason)) == "spam"
    assert note.report_count == 1


@pytest.mark.parametrize(
    ("reason", "text", "status"),
    [("inconnu", "", 422), ("", "", 422), ("spam", "x" * 10_000, 422)],
)
def test_bad_reports(session, notes, reason, text, status) -> None:
    note = _note(session, UserFactory())
    with pytest.raises(ModerationError) as info:
        services.report(session, UserFactory(), KIND, note.id, reason, text)
    assert info.value.status == status


def test_unknown_kind_or_target_is_404(session, notes) -> None:
    for kind, target in (("inexistant", 1), (KIND, 999_999)):
        with pytest.raises(ModerationError) as info:
            services.report(session, UserFactory(), kind, target, "spam", "")
        assert info.value.status == 404


def test_three_distinct_reporters_hide_pending_review(session, notes) -> None:
    note = _note(session, UserFactory())
    services.report(session, UserFactory(), KIND, note.id, "injurieux", "")
    services.report(session, UserFactory(), KIND, note.id, "injurieux", "")
    assert note.is_visible
    services.report(session, UserFactory(), KIND, note.id, "spam", "")
    assert note.hidden_at is not None
    assert "signalements" in note.hidden_reason
    assert not note.is_visible
    assert note.report_count == 3
    assert session.scalar(select(AuditEvent.id).where(AuditEvent.action == "moderation.auto_hide"))


def test_hide_restore_approve(session, notes) -> None:
    moderator = _moderator()
    note = _note(session, UserFactory())
    services.report(session, UserFactory(), KIND, note.id, "hors_sujet", "")
    with pytest.raises(ModerationError) as info:
        services.hide(session, moderator, KIND, note.id, "   ")
    assert info.value.status == 422
    services.hide(session, moderator, KIND, note.id, "Hors du thème du forum")
    assert note.hidden_reason == "Hors du thème du forum" and not note.is_visible
    assert session.scalar(select(Report.resolved_at)) is not None
    services.restore(session, moderator, KIND, note.id)
    assert note.is_visible and note.hidden_reason is None
    with pytest.raises(ModerationError) as info:
        services.approve(session, moderator, KIND, note.id)
    assert info.value.status == 409
    held = _note(session, UserFactory(), held_for_review=True)
    assert not held.is_visible
    services.approve(session, moderator, KIND, held.id)
    assert held.is_visible
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == moderator.id))
    )
    assert {"moderation.hide", "moderation.restore", "moderation.approve"} <= actions


def test_participants_cannot_moderate(session, notes) -> None:
    note = _note(session, UserFactory())
    with pytest.raises(ModerationError) as info:
        services.hide(session, UserFactory(), KIND, note.id, "non")
    assert info.value.status == 403
    assert note.is_visible


def test_block_user(session, notes) -> None:
    moderator = _moderator()
    target = UserFactory()
    services.block_user(session, moderator, target, "Insultes répétées")
    assert target.is_blocked and target.blocked_reason == "Insultes répétées"
    with pytest.raises(ModerationError):
        services.block_user(session, moderator, target, "encore")
    with pytest.raises(ModerationError):
        services.block_user(session, moderator, moderator, "moi")
    coordinator = _moderator("coordinator", scope_kind="academie", scope_code="13")
    with pytest.raises(ModerationError) as info:
        services.block_user(session, coordinator, UserFactory(), "non")
    assert info.value.status == 403
    # A blocked account can neither report nor moderate.
    assert not authorize(target, Permission.REPORT)
    services.unblock_user(session, moderator, target)
    assert not target.is_blocked


def test_queue_lists_reported_and_held_content_by_scope(session, notes) -> None:
    moderator = _moderator()
    coordinator = _moderator("coordinator", scope_kind="academie", scope_code="13")
    reported = _note(session, UserFactory(), academie_code="13")
    services.report(session, UserFactory(), KIND, reported.id, "spam", "")
    held = _note(session, UserFactory(), held_for_review=True, academie_code="01")
    national = _note(session, UserFactory(), held_for_review=True)
    items = {(i.kind.kind, i.target.id): i for i in services.queue(session, moderator)}
    assert {(KIND, reported.id), (KIND, held.id), (KIND, national.id)} <= set(items)
    assert items[(KIND, reported.id)].status == "reported"
    assert items[(KIND, held.id)].status == "held"
    mine = {i.target.id for i in services.queue(session, coordinator) if i.kind.kind == KIND}
    assert mine == {reported.id}
    assert services.queue(session, coordinator)[0].reports[0].reason_label == "Spam ou publicité"


def test_personal_data_and_erasure(session, notes) -> None:
    reporter = UserFactory()
    note = _note(session, UserFactory())
    services.report(session, reporter, KIND, note.id, "autre", "Mon avis")
    assert services.personal_data(session, reporter)["reports"][0]["text"] == "Mon avis"
    services.erase_reporter(session, reporter)
    row = session.scalar(select(Report))
    assert row.reporter_id is None and row.text == ""


@pytest.mark.parametrize(
    ("role", "scope", "academie", "expected"),
    [
        (None, None, "13", False),
        ("moderator", None, "13", True),
        ("admin", None, None, True),
        ("analyst", None, "13", False),
        ("coordinator", ("academie", "13"), "13", True),
        ("coordinator", ("academie", "13"), "01", False),
        ("coordinator", ("region", "75"), "13", True),  # Nouvelle-Aquitaine covers Poitiers
        ("coordinator", ("academie", "13"), None, False),
    ],
)
def test_moderate_policy_matrix(session, notes, role, scope, academie, expected) -> None:
    if role is None:
        user = UserFactory()
    elif scope:
        user = _moderator(role, scope_kind=scope[0], scope_code=scope[1])
    else:
        user = _moderator(role)
    note = _note(session, UserFactory(), academie_code=academie)
    moderation.load_target(session, KIND, note.id)  # teaches the registry the model
    assert authorize(user, Permission.MODERATE, note) is expected
    assert authorize(None, Permission.MODERATE, note) is False
    assert authorize(None, Permission.REPORT) is False


# --- Views --------------------------------------------------------------------------------------


def _login(client, user: User) -> None:
    client.login(user.email)


def test_report_page_requires_login_and_redirects_back(client, session, notes) -> None:
    note = _note(session, UserFactory())
    url = f"/moderation/signaler/{KIND}/{note.id}"
    response = client.get(url)
    assert response.status_code == 302 and "/compte/connexion" in response.headers["Location"]
    _login(client, UserFactory())
    page = client.get(url + "?next=/notes/1").get_data(as_text=True)
    assert "<script>note" not in page and "&lt;script&gt;note" in page
    response = client.submit(url, {"reason": "spam", "text": "<b>pub</b>", "next": "/notes/1"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/notes/1")
    again = client.submit(url, {"reason": "spam", "next": "/notes/1"})
    assert again.status_code == 409
    assert "déjà signalé" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"reason": "pirate"}, 422),
        ({}, 422),
        ({"reason": "spam", "text": "x" * 10_000}, 422),
        ({"reason": "spam", "next": "https://ailleurs.example/"}, 302),
    ],
)
def test_report_view_hostile_input(client, session, notes, data, status) -> None:
    note = _note(session, UserFactory())
    _login(client, UserFactory())
    response = client.submit(f"/moderation/signaler/{KIND}/{note.id}", data)
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"] == f"/notes/{note.id}"


def test_report_view_refusals(client, session, notes) -> None:
    author = UserFactory()
    note = _note(session, author)
    _login(client, author)
    url = f"/moderation/signaler/{KIND}/{note.id}"
    assert client.submit(url, {"reason": "spam"}).status_code == 403
    assert client.get(f"/moderation/signaler/{KIND}/999999").status_code == 404
    assert client.get(f"/moderation/signaler/pirate/{note.id}").status_code == 404
    assert client.post(url, data={"reason": "spam"}).status_code == 400  # no CSRF token


def test_queue_and_actions_through_the_views(client, session, notes) -> None:
    author = UserFactory()
    note = _note(session, author)
    services.report(session, UserFactory(), KIND, note.id, "injurieux", "<em>grossier</em>")
    _login(client, UserFactory())
    assert client.get("/moderation/").status_code == 403
    client.logout()
    moderator = _moderator()
    _login(client, moderator)
    page = client.get("/moderation/").get_data(as_text=True)
    assert "&lt;em&gt;grossier&lt;/em&gt;" in page and "Propos injurieux" in page
    hide = f"/moderation/{KIND}/{note.id}/masquer"
    assert client.submit(hide, {"reason": ""}, page="/moderation/").status_code == 422
    assert client.submit(hide, {"reason": "x" * 600}, page="/moderation/").status_code == 422
    response = client.submit(hide, {"reason": "Propos blessants"}, page="/moderation/")
    assert response.status_code == 302
    session.refresh(note)
    assert note.hidden_reason == "Propos blessants"
    restore = f"/moderation/{KIND}/{note.id}/retablir"
    assert client.submit(restore, {}, page="/moderation/").status_code == 302
    session.refresh(note)
    assert note.is_visible
    approve = f"/moderation/{KIND}/{note.id}/approuver"
    assert client.submit(approve, {}, page="/moderation/").status_code == 409
    assert (
        client.submit(
            f"/moderation/{KIND}/999999/masquer", {"reason": "x"}, page="/moderation/"
        ).status_code
        == 404
    )
    block = f"/moderation/utilisateurs/{author.id}/bloquer"
    assert client.submit(block, {"reason": ""}, page="/moderation/").status_code == 422
    assert client.submit(block, {"reason": "Spam"}, page="/moderation/").status_code == 302
    session.refresh(author)
    assert author.is_blocked
    assert (
        client.submit(
            "/moderation/utilisateurs/999999/bloquer", {"reason": "x"}, page="/moderation/"
        ).status_code
        == 404
    )


def test_report_rate_limit(app: Flask, session, notes) -> None:
    from tests.conftest import Client, make_test_app

    limited = make_test_app(app.config["SQLALCHEMY_DATABASE_URL"], RATELIMIT_REPORT="2 per hour")
    limited.test_client_class = Client
    client = limited.test_client()
    notes_ = [_note(session, UserFactory()) for _ in range(3)]
    client.login(UserFactory().email)
    statuses = [
        client.submit(f"/moderation/signaler/{KIND}/{n.id}", {"reason": "spam"}).status_code
        for n in notes_
    ]
    assert statuses == [302, 302, 429]
