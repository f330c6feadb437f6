"""Follow and be told: follows, the dispatcher, the notifications page, emails (immediate, daily
digest, one-click unsubscribe), who never gets mail, public profiles, share links, account data."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from consult.db import db, utcnow
from consult.models import User
from consult.moderation import services as moderation
from consult.notifications import services
from consult.notifications.models import Delivery, Event, Follow, Notification, Preference
from forums import services as forums
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import ContributionFactory, theme
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory


@pytest.fixture
def ctx(app):
    """Service-level tests run in a request context, as the services do in production."""
    with app.test_request_context():
        yield db.session


def _notes(session, user, event=None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if event is not None:
        query = query.where(Notification.event == event.value)
    return list(session.scalars(query.order_by(Notification.id)))


def _contribution(session, author):
    item = forums.post_contribution(
        session,
        author,
        theme(),
        theme().subthemes[0].id,
        "Des tablettes pour tous",
        "Un texte assez long.",
    )
    session.commit()
    return item


def _prefer(session, user, event, delivery):
    services.set_preferences(session, user, {event: delivery})
    session.commit()


# --- Follows and the dispatcher ------------------------------------------------------------------


def test_authors_follow_their_contribution_and_are_told_of_comments_but_not_the_actor(ctx):
    session = ctx
    author, fan, writer = UserFactory(), UserFactory(), UserFactory()
    item = _contribution(session, author)
    assert services.is_following(session, author, "contribution", str(item.id))
    services.follow(session, fan, "contribution", str(item.id))
    session.commit()

    comment = forums.add_comment(session, writer, item, "pour", "Je suis d'accord.")
    session.commit()

    assert [n.subject_id for n in _notes(session, author, Event.COMMENT)] == [comment.id]
    assert [n.subject_id for n in _notes(session, fan, Event.COMMENT)] == [comment.id]
    assert _notes(session, writer) == []  # never the actor

    # The author replies: the commenter hears it as a reply (once), the fan as a comment, the
    # author (the actor) nothing.
    reply = forums.add_comment(session, author, item, None, "Merci !", parent_id=comment.id)
    session.commit()
    assert [n.event for n in _notes(session, writer)] == [Event.REPLY.value]
    assert [n.subject_id for n in _notes(session, fan)] == [comment.id, reply.id]
    assert [n.subject_id for n in _notes(session, author)] == [comment.id]


def test_a_held_comment_tells_nobody_until_moderation_releases_it_and_never_twice(ctx):
    session = ctx
    author, pupil = UserFactory(), UserFactory(audience="eleve")
    moderator = RoleGrantFactory(role="moderator").user
    item = _contribution(session, author)
    held = forums.add_comment(session, pupil, item, "pour", "Écrivez-moi : eleve@exemple.test")
    session.commit()
    assert held.held_for_review
    assert _notes(session, author) == []

    moderation.approve(session, moderator, "comment", held.id)
    session.commit()
    assert len(_notes(session, author, Event.COMMENT)) == 1

    moderation.hide(session, moderator, "comment", held.id, "Hors sujet")
    session.commit()
    moderation.restore(session, moderator, "comment", held.id)
    session.commit()
    assert len(_notes(session, author, Event.COMMENT)) == 1


def test_a_rolled_back_comment_tells_nobody(ctx):
    session = ctx
    author, writer = UserFactory(), UserFactory()
    item = _contribution(session, author)
    forums.add_comment(session, writer, item, "pour", "Jamais enregistré.")
    session.rollback()
    assert _notes(session, author) == []


def test_new_contribution_in_a_followed_theme(ctx):
    session = ctx
    fan, author = UserFactory(), UserFactory()
    services.follow(session, fan, "theme", str(theme().id))
    session.commit()
    item = _contribution(session, author)
    assert [n.subject_id for n in _notes(session, fan, Event.NEW_CONTRIBUTION)] == [item.id]
    assert _notes(session, author) == []


def test_idea_answer_retex_review_events_and_news(ctx):
    from consult.territorial import services as territorial
    from consult.territorial.services import EventData
    from tests.retex_factories import make_sheet

    session = ctx
    coordinator = RoleGrantFactory(role="coordinator", scope_kind="academie", scope_code="16").user
    author = UserFactory(academie_code="16")
    idea = territorial.post_idea(session, author, "Des prêts d'ordinateurs", "Pour les familles.")
    session.commit()
    territorial.answer_idea(session, coordinator, idea, "retenue", "Nous la retenons.")
    session.commit()
    assert [n.subject_id for n in _notes(session, author, Event.IDEA_ANSWER)] == [idea.id]

    reviewer = RoleGrantFactory(role="coordinator", scope_kind="academie", scope_code="13").user
    writer = UserFactory()
    sheet = make_sheet(writer, "published", reviewer=reviewer, territory="academie:13")
    session.commit()
    assert [n.subject_id for n in _notes(session, writer, Event.RETEX_REVIEW)] == [sheet.id]
    assert _notes(session, reviewer) == []

    # Following Toulouse (16): its meetings and news, and those of its région (Occitanie, 76).
    fan = UserFactory()
    services.follow(session, fan, "academie", "16")
    session.commit()
    start = utcnow() + timedelta(days=3)
    data = EventData(
        "academie",
        "16",
        "Atelier",
        "Un atelier.",
        start,
        start + timedelta(hours=1),
        place="Rectorat",
    )
    meeting = territorial.create_event(session, coordinator, data)
    news = territorial.publish_news(session, coordinator, "academie", "16", "Ouverture", "Texte")
    other = territorial.publish_news(session, reviewer, "academie", "13", "Poitiers", "Texte")
    session.commit()
    assert [n.subject_id for n in _notes(session, fan, Event.TERRITORY_EVENT)] == [meeting.id]
    assert [n.subject_id for n in _notes(session, fan, Event.TERRITORY_NEWS)] == [news.id]
    assert other.id not in [n.subject_id for n in _notes(session, fan)]
    assert _notes(session, coordinator) == []


def test_deleted_followers_are_not_told(ctx):
    from consult.accounts.services import delete_account

    session = ctx
    author, fan, writer = UserFactory(), UserFactory(), UserFactory()
    item = _contribution(session, author)
    services.follow(session, fan, "contribution", str(item.id))
    delete_account(session, fan)
    session.commit()
    forums.add_comment(session, writer, item, "pour", "Bonjour")
    session.commit()
    assert _notes(session, fan) == []
    assert (
        session.scalar(select(func.count()).select_from(Follow).where(Follow.user_id == fan.id))
        == 0
    )


# --- Routes: follow button, page, hostile input --------------------------------------------------


def test_follow_button_toggles_with_aria_pressed(client, session):
    user = UserFactory()
    item = ContributionFactory()
    client.login(user.email)
    page = f"/forums/contributions/{item.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'aria-pressed="false"' in html
    form = {"kind": "contribution", "key": str(item.id), "action": "follow", "next": page}
    response = client.submit("/notifications/suivre", form, page=page)
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    assert 'aria-pressed="true"' in client.get(page).get_data(as_text=True)
    client.submit("/notifications/suivre", {**form, "action": "unfollow"}, page=page)
    assert 'aria-pressed="false"' in client.get(page).get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"kind": "nope", "key": "1", "action": "follow"}, 404),
        ({"kind": "contribution", "key": "abc", "action": "follow"}, 404),
        ({"kind": "contribution", "key": "9" * 30, "action": "follow"}, 400),
        ({"kind": "contribution", "key": "999999", "action": "follow"}, 404),
        ({"kind": "contribution", "key": "1", "action": "explode"}, 400),
        ({"kind": "comment", "key": "1", "action": "follow"}, 404),  # not followable
        ({"kind": "academie", "key": "<script>", "action": "follow"}, 404),
        ({"kind": "", "key": "", "action": ""}, 400),
        ({"kind": "theme", "key": "1", "action": "follow", "next": "https://evil.example/"}, 302),
    ],
)
def test_follow_hostile_inputs(client, session, fields, status):
    user = UserFactory()
    client.login(user.email)
    response = client.submit("/notifications/suivre", fields, page="/notifications/")
    assert response.status_code == status
    if status == 302:
        assert "evil.example" not in response.headers["Location"]


def test_follow_needs_csrf_login_and_a_readable_subject(client, session):
    held = ContributionFactory(held_for_review=True)
    response = client.post("/notifications/suivre", data={"kind": "theme", "key": "1"})
    assert response.status_code in (400, 302, 401)
    assert session.scalar(select(func.count()).select_from(Follow)) == 0
    user = UserFactory()
    client.login(user.email)
    no_token = client.post(
        "/notifications/suivre", data={"kind": "theme", "key": "1", "action": "follow"}
    )
    assert no_token.status_code == 400
    hidden = {"kind": "contribution", "key": str(held.id), "action": "follow"}
    assert client.submit("/notifications/suivre", hidden, page="/notifications/").status_code == 404


def test_notifications_page_read_unread_pagination_and_nobody_elses(client, session):
    user, other = UserFactory(), UserFactory()
    items = ContributionFactory.create_batch(25)
    for item in items:
        session.add(
            Notification(
                user_id=user.id,
                event="new_contribution",
                subject_kind="contribution",
                subject_id=item.id,
            )
        )
    theirs = Notification(
        user_id=other.id,
        event="new_contribution",
        subject_kind="contribution",
        subject_id=items[0].id,
    )
    session.add(theirs)
    session.flush()
    client.login(user.email)
    html = client.get("/notifications/").get_data(as_text=True)
    assert html.count('class="fr-py-2w consult-notification') == 20
    assert "25 notifications non lues" in html
    assert 'data-notification-count="25"' in html  # the bell in the header
    assert "<script>alert" not in html  # titles escaped
    assert (
        client.get("/notifications/?page=2")
        .get_data(as_text=True)
        .count('class="fr-py-2w consult-notification')
        == 5
    )
    assert client.get("/notifications/?page=-3").status_code == 200
    mine = _notes(session, user)[0]
    assert client.submit(f"/notifications/{mine.id}/lue", page="/notifications/").status_code == 302
    assert 'data-notification-count="24"' in client.get("/notifications/").get_data(as_text=True)
    # Somebody else's notification: 404 whatever the action, and it stays unread.
    for action in ("lue", "ouvrir"):
        response = client.submit(f"/notifications/{theirs.id}/{action}", page="/notifications/")
        assert response.status_code == 404
    session.refresh(theirs)
    assert theirs.read_at is None
    assert client.post(f"/notifications/{mine.id}/lue").status_code == 400  # no CSRF token
    client.submit("/notifications/tout-lu", page="/notifications/")
    assert 'data-notification-count="0"' in client.get("/notifications/").get_data(as_text=True)
    client.logout()
    assert client.get("/notifications/").status_code in (302, 401)


def test_hidden_content_is_no_longer_named_in_notifications(client, session):
    user = UserFactory()
    item = ContributionFactory(title="Titre bientôt masqué")
    session.add(
        Notification(
            user_id=user.id,
            event="new_contribution",
            subject_kind="contribution",
            subject_id=item.id,
        )
    )
    item.hidden_at = utcnow()
    session.flush()
    client.login(user.email)
    html = client.get("/notifications/").get_data(as_text=True)
    assert "Titre bientôt masqué" not in html
    assert "plus disponible" in html


def test_the_notifications_page_reads_its_subjects_by_kind_not_one_by_one(app, client, session):
    from sqlalchemy import event

    from tests.forums_factories import CommentFactory

    user = UserFactory()
    client.login(user.email)
    client.get("/compte/")  # the login flash

    def page_queries(count: int) -> tuple[int, str]:
        for _number in range(count):
            item = ContributionFactory()
            comment = CommentFactory(contribution=item)
            session.add_all(
                [
                    Notification(
                        user_id=user.id,
                        event=event_name,
                        subject_kind=kind,
                        subject_id=subject_id,
                    )
                    for event_name, kind, subject_id in (
                        ("new_contribution", "contribution", item.id),
                        ("comment", "comment", comment.id),
                    )
                ]
            )
        session.flush()
        statements = []
        engine = app.extensions["consult_engine"]

        def count_statement(*_args) -> None:
            statements.append(1)

        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            html = client.get("/notifications/").get_data(as_text=True)
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return len(statements), html

    few, _html = page_queries(2)
    many, html = page_queries(8)  # 20 notifications shown, of two kinds
    assert many == few
    assert html.count("a commenté la contribution") >= 8


# --- Emails --------------------------------------------------------------------------------------


def _unsubscribe_path(body: str) -> str:
    url = re.search(r"https?://\S+/notifications/desabonnement/\S+", body).group(0)
    return "/" + url.split("/", 3)[3]


def test_immediate_email_with_one_click_unsubscribe(app, ctx, client, outbox):
    session = ctx
    author, writer = UserFactory(), UserFactory()
    _prefer(session, author, Event.COMMENT, Delivery.IMMEDIATE)
    item = _contribution(session, author)
    forums.add_comment(session, writer, item, "contre", "Je ne suis pas d'accord.")
    session.commit()
    assert len(outbox) == 1
    message = outbox[0]
    assert message["To"] == author.email
    assert writer.pseudonym in message["Subject"]
    body = message.get_content()
    assert writer.email not in body and writer.email not in str(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    assert link in body
    assert _notes(session, author)[0].mailed_at is not None

    path = _unsubscribe_path(body)
    page = client.get(path)  # no login needed; GET changes nothing
    assert page.status_code == 200 and "Confirmer" in page.get_data(as_text=True)
    assert services.preferences(session, author)[Event.COMMENT] is Delivery.IMMEDIATE
    # RFC 8058: the mail client posts without cookie or form token.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    session.expire_all()
    assert set(services.preferences(session, author).values()) == {Delivery.NONE}
    assert client.get(path[:-3] + "xyz").status_code == 404
    assert client.post("/notifications/desabonnement/" + "a" * 300).status_code == 404


def test_daily_digest_gathers_unread_notifications_once(ctx, outbox):
    session = ctx
    fan, author = UserFactory(), UserFactory()
    _prefer(session, fan, Event.NEW_CONTRIBUTION, Delivery.DAILY)
    services.follow(session, fan, "theme", str(theme().id))
    session.commit()
    _contribution(session, author)
    _contribution(session, author)
    assert outbox == []  # nothing immediate
    assert services.send_digests(session) == 1
    assert len(outbox) == 1 and "2 notifications" in outbox[0]["Subject"]
    assert outbox[0]["List-Unsubscribe"]
    assert services.send_digests(session) == 0
    assert len(outbox) == 1


def test_nothing_is_ever_mailed_to_an_account_without_address(ctx, outbox):
    """Pupils who took part with an access code only have no address (code accounts): they
    get in-app notifications at most, never an email, whatever their settings say."""
    session = ctx
    pupil = UserFactory(audience="eleve", email=None, email_key=None, password_hash=None)
    writer = UserFactory()
    for event in Event:
        _prefer(session, pupil, event, Delivery.IMMEDIATE)
    item = forums.post_contribution(
        session, pupil, theme(), theme().subthemes[0].id, "Mon idée", "Un long texte assez."
    )
    session.commit()
    forums.add_comment(session, writer, item, "pour", "Bravo")
    session.commit()
    assert len(_notes(session, pupil)) == 1
    assert outbox == []
    _prefer(session, pupil, Event.COMMENT, Delivery.DAILY)
    session.execute(Notification.__table__.update().values(mailed_at=None))
    services.send_digests(session)
    assert outbox == []
    assert not services.may_receive_email(pupil)


def test_a_pupil_with_an_access_code_only_has_no_account_to_follow_or_mail(
    app, client, session, outbox, monkeypatch
):
    """Answering with an access code creates no account: the pupil cannot follow anything and
    there is no one to notify or mail."""
    from surveys import services as surveys
    from tests.surveys_factories import load_small, user_with_role

    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    coordinator = user_with_role("coordinator", "academie", "13")
    batch = surveys.create_batch(
        session,
        questionnaire,
        coordinator,
        label="Classe",
        audience="eleve",
        academie_code="13",
        size=1,
        valid_days=10,
        now=utcnow(),
    )
    users = session.scalar(select(func.count()).select_from(User))
    code = surveys.format_code(batch.codes[0].code)
    assert client.submit("/questionnaire/code", {"code": code}).status_code == 302
    client.submit("/questionnaire/page/1", {"action": "brouillon", "q_Q1": "oui"})
    follow = {"kind": "theme", "key": str(theme().id), "action": "follow"}
    response = client.submit("/notifications/suivre", follow, page="/questionnaire/")
    assert response.status_code in (302, 401) and "/compte/connexion" in response.headers.get(
        "Location", "/compte/connexion"
    )
    assert client.get("/notifications/").status_code in (302, 401)
    assert session.scalar(select(func.count()).select_from(User)) == users
    assert session.scalar(select(func.count()).select_from(Follow)) == 0
    assert outbox == []


def test_preferences_page_and_hostile_input(client, session):
    user = UserFactory()
    client.login(user.email)
    assert client.get("/notifications/preferences").status_code == 200
    good = {f"event_{e.value}": "none" for e in Event} | {"event_comment": "daily"}
    assert client.submit("/notifications/preferences", good).status_code == 302
    assert services.preferences(session, user)[Event.COMMENT] is Delivery.DAILY
    bad = good | {"event_reply": "every-second"}
    assert client.submit("/notifications/preferences", bad).status_code == 422
    assert client.post("/notifications/preferences", data=good).status_code == 400
    session.expire_all()
    assert services.preferences(session, user)[Event.REPLY] is Delivery.NONE


# --- Public profiles -----------------------------------------------------------------------------


def test_profile_lists_only_public_writing_and_details_on_opt_in(client, session):
    person = UserFactory(pseudonym="Zoé Martin", pseudonym_key="zoe martin", academie_code="16")
    shown = ContributionFactory(author=person, title="Visible")
    ContributionFactory(author=person, title="Retenue", held_for_review=True)
    ContributionFactory(author=person, title="Masquée", hidden_at=utcnow())
    ContributionFactory(author=person, title="Retirée", withdrawn_at=utcnow())
    IdeaFactory(author=person, title="Idée publique")
    html = client.get("/profils/Zoé Martin").get_data(as_text=True)
    assert "Visible" in html and "Idée publique" in html
    for secret in ("Retenue", "Masquée", "Retirée", person.email, "Toulouse"):
        assert secret not in html
    assert f"/forums/contributions/{shown.id}" in html
    redirect = client.get("/profils/zoe martin")
    assert redirect.status_code == 301
    person.profile_shows_details = True
    session.flush()
    assert "Toulouse" in client.get("/profils/Zoé Martin").get_data(as_text=True)


def test_profile_of_deleted_or_unknown_accounts_and_pagination(app, client, session):
    from consult.accounts.services import delete_account

    person = UserFactory()
    ContributionFactory.create_batch(23, author=person)
    path = f"/profils/{person.pseudonym}"
    assert client.get(path).get_data(as_text=True).count('class="fr-py-2w"') == 20
    assert client.get(path + "?page=2").get_data(as_text=True).count('class="fr-py-2w"') == 3
    assert "&lt;b&gt;" in client.get(path).get_data(as_text=True)  # pseudonym escaped
    assert client.get("/profils/personne-inconnue").status_code == 404
    assert client.get("/profils/" + "x" * 200).status_code == 404
    with app.test_request_context():
        delete_account(db.session, db.session.get(User, person.id))
        db.session.commit()
    assert client.get(path).status_code == 404
    assert client.get("/profils/Compte supprimé").status_code == 404


def test_pseudonyms_on_pages_link_to_profiles(client, session):
    item = ContributionFactory()
    html = client.get(f"/forums/contributions/{item.id}").get_data(as_text=True)
    assert "/profils/Participant%3Cb%3E" in html


# --- Share -------------------------------------------------------------------------------------


def test_share_field_is_a_stable_permalink_on_site_url(app, client, session):
    item = ContributionFactory()
    idea = IdeaFactory()
    meeting = EventFactory()
    news = NewsFactory()
    site = app.config["SITE_URL"]
    for page, permalink in (
        (f"/forums/contributions/{item.id}", f"{site}/forums/contributions/{item.id}"),
        (f"/territoires/idees/{idea.id}", f"{site}/territoires/idees/{idea.id}"),
        (f"/territoires/evenements/{meeting.id}", f"{site}/territoires/evenements/{meeting.id}"),
        (f"/territoires/actualites/{news.id}", f"{site}/territoires/actualites/{news.id}"),
    ):
        html = client.get(page, headers={"Host": "localhost"}).get_data(as_text=True)
        assert f'readonly value="{permalink}"' in html, page
        assert "Copier le lien" in html
        # No third-party widget: nothing loaded or linked from another host by the share box.
        hosts = set(re.findall(r'(?:src|href|action)="https?://([^/"]+)', html))
        assert hosts <= {site.split("//")[1]}, hosts


# --- Account -----------------------------------------------------------------------------------


def test_personal_data_lists_and_deletion_erases_follows_notifications_preferences(client, ctx):
    from consult.accounts.services import delete_account, personal_data

    session = ctx
    user, writer = UserFactory(), UserFactory()
    _prefer(session, user, Event.COMMENT, Delivery.DAILY)
    item = _contribution(session, user)
    forums.add_comment(session, writer, item, "pour", "Bonjour")
    user.profile_shows_details = True
    session.commit()
    data = personal_data(session, user)["notifications"]
    assert data["follows"][0]["kind"] == "contribution"
    assert len(data["notifications"]) == 1
    assert data["email_preferences"]["comment"] == "daily"
    assert data["public_profile_details"] is True
    delete_account(session, user)
    session.commit()
    for model in (Follow, Notification, Preference):
        count = select(func.count()).select_from(model).where(model.user_id == user.id)
        assert session.scalar(count) == 0
    assert user.profile_shows_details is False


# --- A real SMTP server --------------------------------------------------------------------------


def test_email_reaches_a_real_smtp_server_and_its_unsubscribe_link_works(database_url, smtp_server):
    from tests.conftest import make_test_app

    app = make_test_app(database_url, **smtp_server.config())
    with app.test_request_context():
        session = db.session
        author, writer = UserFactory(), UserFactory()
        _prefer(session, author, Event.COMMENT, Delivery.IMMEDIATE)
        item = _contribution(session, author)
        forums.add_comment(session, writer, item, "pour", "Reçu par un vrai serveur SMTP.")
        session.commit()
        author_id, author_email = author.id, author.email

    (message,) = smtp_server.wait_for(1)
    assert smtp_server.recipients == [[author_email]]
    assert message["To"] == author_email
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = re.search(r"<(.+)>", message["List-Unsubscribe"]).group(1)
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert link in body and f"/forums/contributions/{item.id}?commentaire=" in body
    assert writer.email not in message.as_string()

    client = app.test_client()
    path = "/" + link.split("/", 3)[3]
    assert "Confirmer" in client.get(path).get_data(as_text=True)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    with app.app_context():
        user = db.session.get(User, author_id)
        assert set(services.preferences(db.session, user).values()) == {Delivery.NONE}


def test_the_daily_digest_is_a_periodic_job_of_the_workers(app):
    from huey import MemoryHuey

    from consult import jobs

    spec = jobs._TASKS["notifications.digest"]
    assert spec.periodic == (6, 0) and not spec.record
    queue = jobs.Queue(app, MemoryHuey("digest-test", immediate=False))
    queue.register_all()

    def due(hour: int, minute: int) -> set[str]:
        return {t.name for t in queue.huey.read_periodic(datetime(2026, 12, 7, hour, minute))}

    assert "notifications.digest" in due(6, 0)
    assert "notifications.digest" not in due(6, 1) | due(18, 0)
    with pytest.raises(ValueError, match="periodic"):
        jobs.task("nope", record=True, periodic=(1, 0))(lambda: None)
