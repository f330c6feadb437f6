"""Events as meetings (issue 12): registrants for the organiser only, the waiting list with its
promotion, the reminder the day before (sent once), minutes, contributions collected in the
room and their separate count in the synthesis."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from consult.db import db, utcnow
from consult.territorial import services
from consult.territorial.models import Event, EventMinutes, EventRegistration
from forums.models import Contribution, Vote
from synthesis import engine, store
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import ContributionFactory, first_subtheme
from tests.territorial_factories import EventFactory


def _coordinator(code: str = "16", kind: str = "academie", **kw):
    user = UserFactory(academie_code="16", **kw)
    RoleGrantFactory(user=user, role="coordinator", scope_kind=kind, scope_code=code)
    return user


def _event(author=None, **kw) -> Event:
    kw.setdefault("capacity", 2)
    return EventFactory(created_by_id=author.id if author else None, **kw)


def _past_event(author, **kw) -> Event:
    start = utcnow() - timedelta(hours=3)
    return EventFactory(
        created_by_id=author.id, starts_at=start, ends_at=start + timedelta(hours=2), **kw
    )


# --- Waiting list -----------------------------------------------------------------------------


def test_full_event_puts_people_on_the_waiting_list_and_promotes_in_order(
    app, client, session, outbox
) -> None:
    event = _event(capacity=1)
    first, second, third = (UserFactory(academie_code="16") for _ in range(3))
    url = f"/territoires/evenements/{event.id}"
    for person in (first, second, third):
        client.login(person.email)
        response = client.submit(f"{url}/inscription", page=url)
        assert response.status_code == 302
        client.logout()
    rows = {r.user_id: r for r in services.registrants(session, event)}
    assert rows[first.id].status == "registered"
    assert rows[second.id].waiting and rows[third.id].waiting
    assert services.waiting_position(session, rows[third.id]) == 2
    client.login(third.email)
    page = client.get(url).get_data(as_text=True)
    assert "vous êtes en position 2" in page
    client.logout()

    # The registered person leaves: the first in line gets the place and an email.
    client.login(first.email)
    assert client.submit(f"{url}/desinscription", page=url).status_code == 302
    session.expire_all()
    rows = {r.user_id: r for r in services.registrants(session, event)}
    assert first.id not in rows
    assert rows[second.id].status == "registered" and rows[second.id].promoted_at is not None
    assert rows[third.id].waiting
    assert session.get(Event, event.id).registered_count == 1
    assert [m["To"] for m in outbox] == [second.email]
    assert "place s’est libérée" in outbox[0].get_content()


def test_raising_the_capacity_promotes_the_waiting_list(session) -> None:
    coordinator = _coordinator()
    event = _event(coordinator, capacity=1)
    people = [UserFactory(academie_code="16") for _ in range(3)]
    for person in people:
        services.register(session, person, event)
    data = services.EventData(
        scope_kind="academie",
        scope_code="16",
        title=event.title,
        description=event.description,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        place=event.place,
        capacity=3,
    )
    promoted = services.update_event(session, coordinator, event, data)
    assert [r.user_id for r in promoted] == [people[1].id, people[2].id]
    assert event.registered_count == 3


def test_organiser_removal_frees_the_place_for_the_next(app, client, session, outbox) -> None:
    coordinator = _coordinator()
    event = _event(coordinator, capacity=1)
    kept, waiting = UserFactory(academie_code="16"), UserFactory(academie_code="16")
    services.register(session, kept, event)
    services.register(session, waiting, event)
    row = services.registration_of(session, kept, event)
    client.login(coordinator.email)
    list_url = f"/territoires/evenements/{event.id}/inscrits"
    response = client.submit(f"{list_url}/{row.id}/retirer", page=list_url)
    assert response.status_code == 302
    assert services.is_registered(session, waiting, event)
    assert [m["To"] for m in outbox] == [waiting.email]
    # Removing it again: it is gone.
    assert client.submit(f"{list_url}/{row.id}/retirer", page=list_url).status_code == 404


def test_a_deleted_account_frees_its_place_for_the_waiting_list(session) -> None:
    event = _event(capacity=1)
    leaving, waiting = UserFactory(academie_code="16"), UserFactory(academie_code="16")
    services.register(session, leaving, event)
    services.register(session, waiting, event)
    services.delete_account(session, leaving)
    assert services.is_registered(session, waiting, event)
    assert session.get(Event, event.id).registered_count == 1


# --- Registrants -----------------------------------------------------------------------------


ROLES = ["anonymous", "participant", "registrant", "other_coordinator", "moderator", "analyst"]


@pytest.mark.parametrize("role", ROLES)
def test_registrants_are_hidden_from_everyone_but_the_organiser(client, session, role) -> None:
    event = _event()
    registrant = UserFactory(academie_code="16")
    services.register(session, registrant, event)
    users = {
        "participant": UserFactory(),
        "registrant": registrant,
        "other_coordinator": _coordinator("13"),
        "moderator": RoleGrantFactory(role="moderator").user,
        "analyst": RoleGrantFactory(role="analyst").user,
    }
    if role != "anonymous":
        client.login(users[role].email)
    for suffix in ("inscrits", "inscrits.csv", "compte-rendu"):
        response = client.get(f"/territoires/evenements/{event.id}/{suffix}")
        assert response.status_code == (302 if role == "anonymous" else 403), suffix
    page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "Voir les inscrits" not in page


@pytest.mark.parametrize("role", ["author", "coordinator", "region_coordinator", "admin"])
def test_organisers_see_pseudonyms_and_counts_never_emails(client, session, role) -> None:
    author = UserFactory(academie_code="16")
    users = {
        "author": author,
        "coordinator": _coordinator(),
        "region_coordinator": _coordinator("76", "region"),  # Occitanie covers Toulouse
        "admin": RoleGrantFactory(role="admin").user,
    }
    event = _event(author, capacity=1)
    parent = UserFactory(academie_code="16", audience="parent", pseudonym="Maman<Lune>")
    pupil = UserFactory(academie_code="16", audience="eleve", pseudonym="Pierrot")
    services.register(session, parent, event)
    services.register(session, pupil, event)
    client.login(users[role].email)
    page = client.get(f"/territoires/evenements/{event.id}/inscrits")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Maman&lt;Lune&gt;" in html and "Pierrot" in html
    assert "Liste d’attente (1)" in html
    assert parent.email not in html and pupil.email not in html
    csv = client.get(f"/territoires/evenements/{event.id}/inscrits.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert "Maman<Lune>" in text and "liste d'attente" in text
    assert "@" not in text


# --- Reminder --------------------------------------------------------------------------------


def _paris(year, month, day, hour) -> datetime:
    from consult import dates

    return dates.to_utc(datetime(year, month, day, hour), dates.PARIS)


def test_reminder_is_sent_once_the_day_before_in_the_events_time_zone(
    app, session, outbox, monkeypatch
):
    start = _paris(2031, 3, 12, 18)
    event = _event(capacity=5, starts_at=start, ends_at=start + timedelta(hours=2))
    person, waiting_one = UserFactory(academie_code="16"), UserFactory(academie_code="16")
    services.register(session, person, event)
    event.capacity = 1
    services.register(session, waiting_one, event)
    # Two days before, and the day before at 6 a.m. (night): nothing.
    assert services.claim_reminders(session, _paris(2031, 3, 10, 12)) == []
    assert services.claim_reminders(session, _paris(2031, 3, 11, 6)) == []
    # The job as the worker runs it: an application context, no request.
    from consult.territorial import tasks

    monkeypatch.setattr(services, "utcnow", lambda: _paris(2031, 3, 11, 9))
    with app.app_context():
        tasks.send_event_reminders()
        # Run again (a second worker, a later hour): nothing more.
        monkeypatch.setattr(services, "utcnow", lambda: _paris(2031, 3, 11, 10))
        tasks.send_event_reminders()
    # Recorded on the registration; the waiting person has no place to be reminded of.
    session.expire_all()
    assert services.registration_of(session, person, event).reminded_at is not None
    assert services.registration_of(session, waiting_one, event).reminded_at is None
    assert [m["To"] for m in outbox] == [person.email]
    assert "demain" in outbox[0]["Subject"]
    assert "18:00" in outbox[0].get_content() or "18h00" in outbox[0].get_content()


def test_reminders_run_hourly_on_the_workers(app) -> None:
    from consult import jobs
    from consult.territorial.tasks import REMINDERS

    q = jobs.queue(app)
    q.register_all()
    key = f"periodic:{REMINDERS}"
    # Due at :05 of every hour, not at :04.
    assert key in {t.name for t in q.huey.read_periodic(datetime(2031, 3, 11, 9, 5))}
    assert key not in {t.name for t in q.huey.read_periodic(datetime(2031, 3, 11, 9, 4))}


def test_overseas_event_is_reminded_on_its_own_day_before(app, session) -> None:
    from consult import dates

    zone, _name = dates.zone_for("academie", "28")  # La Réunion, UTC+4
    start = dates.to_utc(datetime(2031, 3, 12, 8), zone)
    event = _event(scope_code="28", capacity=5, starts_at=start, ends_at=start + timedelta(hours=2))
    services.register(session, UserFactory(academie_code="28"), event)
    # 23:30 in Paris on the 10th is already 02:30 on the 11th in La Réunion: too early there.
    assert services.claim_reminders(session, dates.to_utc(datetime(2031, 3, 10, 23, 30))) == []
    # 07:00 Paris on the 11th = 10:00 in La Réunion, the day before: due.
    assert len(services.claim_reminders(session, dates.to_utc(datetime(2031, 3, 11, 7)))) == 1


# --- Minutes ---------------------------------------------------------------------------------


HOSTILE_MINUTES = [
    ({"body": ""}, "Rédigez le compte rendu"),
    ({"body": "x" * 20_001}, None),
    ({"body": "Un compte rendu assez long.", "present_parent": "-3"}, "Un nombre entre"),
    ({"body": "Un compte rendu assez long.", "present_eleve": "1e9"}, None),
    ({"body": "Un compte rendu assez long.", "present_agent": "999999999"}, "Un nombre entre"),
]


@pytest.mark.parametrize(("data", "message"), HOSTILE_MINUTES)
def test_minutes_form_refuses_hostile_input(client, session, data, message) -> None:
    organiser = _coordinator()
    event = _past_event(organiser)
    client.login(organiser.email)
    url = f"/territoires/evenements/{event.id}/compte-rendu"
    response = client.submit(url, data)
    assert response.status_code == 422
    if message:
        assert message in response.get_data(as_text=True)
    assert session.scalar(select(EventMinutes).where(EventMinutes.event_id == event.id)) is None


def test_minutes_wait_for_the_meeting(client, session) -> None:
    organiser = _coordinator()
    event = _event(organiser)
    client.login(organiser.email)
    url = f"/territoires/evenements/{event.id}/compte-rendu"
    response = client.submit(url, {"body": "Trop tôt pour un compte rendu."})
    assert response.status_code == 409


def test_minutes_are_published_sanitised_with_counts_only(client, session) -> None:
    organiser = _coordinator()
    event = _past_event(organiser)
    client.login(organiser.email)
    url = f"/territoires/evenements/{event.id}/compte-rendu"
    body = "Nous avons parlé **équipement**. <script>alert(1)</script>"
    response = client.submit(url, {"body": body, "present_parent": "12", "present_eleve": "30"})
    assert response.status_code == 302
    client.logout()
    page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "<strong>équipement</strong>" in page and "<script>alert(1)" not in page
    assert "Présents : 42 personnes" in page
    minutes = session.scalar(select(EventMinutes).where(EventMinutes.event_id == event.id))
    assert minutes.attendance == {"parent": 12, "eleve": 30}
    # In the territory's news and its Atom feed, linked to the event page.
    territory = client.get("/territoires/toulouse/").get_data(as_text=True)
    assert "Comptes rendus de rencontres" in territory
    assert f"/territoires/evenements/{event.id}#compte-rendu" in territory
    feed = client.get("/territoires/toulouse/actualites.atom").get_data(as_text=True)
    assert f"/territoires/evenements/{event.id}#compte-rendu" in feed
    assert "Compte rendu — " in feed and "&lt;strong&gt;équipement" in feed
    # Not in another académie's feed.
    other = client.get("/territoires/poitiers/actualites.atom").get_data(as_text=True)
    assert "compte-rendu" not in other


# --- Contributions collected in the room ------------------------------------------------------


def test_meeting_contribution_is_marked_votable_and_organiser_only(client, session) -> None:
    organiser = _coordinator()
    event = _past_event(organiser, title="Réunion <b>des parents</b>")
    url = f"/forums/rencontres/{event.id}/contribution"
    outsider = UserFactory()
    client.login(outsider.email)
    assert client.get(url).status_code == 403
    client.logout()
    client.login(organiser.email)
    data = {
        "subtheme": str(first_subtheme().id),
        "audience": "parent",
        "title": "Des ordinateurs pour les familles",
        "body": "Une maman propose un prêt d'ordinateurs aux familles qui n'en ont pas.",
    }
    assert client.submit(url, data).status_code == 302
    item = session.scalar(select(Contribution).where(Contribution.meeting_event_id == event.id))
    assert item.author_id == organiser.id and item.author_audience == "parent"
    assert item.author_academie_code == "16"
    client.logout()
    page = client.get(f"/forums/contributions/{item.id}").get_data(as_text=True)
    assert "recueillie lors de la rencontre" in page
    assert "Réunion &lt;b&gt;des parents&lt;/b&gt;" in page
    assert f"/territoires/evenements/{event.id}" in page
    event_page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "Des ordinateurs pour les familles" in event_page
    # The card in its forum's list carries the mark too.
    listing = client.get(f"/forums/{item.theme.slug}/?tri=recentes").get_data(as_text=True)
    card = listing[listing.index(f'id="contribution-{item.id}"') :][:2500]
    assert "recueillie lors de la rencontre" in card and "saisie par" in card
    voter = UserFactory()
    client.login(voter.email)
    response = client.submit(
        f"/forums/contributions/{item.id}/vote",
        {"value": "adopt"},
        page=f"/forums/contributions/{item.id}",
    )
    assert response.status_code in (200, 302)
    assert session.scalar(select(Vote).where(Vote.contribution_id == item.id)) is not None


HOSTILE_MEETING = [
    {"subtheme": "", "audience": "parent", "title": "Titre", "body": "Texte"},
    {"subtheme": "999999", "audience": "parent", "title": "Titre", "body": "Texte"},
    {"subtheme": "abc", "audience": "parent", "title": "Titre", "body": "Texte"},
    {"subtheme": None, "audience": "pirate", "title": "Titre", "body": "Texte"},
    {"subtheme": None, "audience": "parent", "title": "", "body": "Texte"},
    {"subtheme": None, "audience": "parent", "title": "T" * 151, "body": "Texte"},
    {"subtheme": None, "audience": "parent", "title": "Titre", "body": "x" * 5001},
]


@pytest.mark.parametrize("data", HOSTILE_MEETING)
def test_meeting_contribution_form_refuses_hostile_input(client, session, data) -> None:
    organiser = _coordinator()
    event = _past_event(organiser)
    client.login(organiser.email)
    data = dict(data)
    if data["subtheme"] is None:
        data["subtheme"] = str(first_subtheme().id)
    response = client.submit(f"/forums/rencontres/{event.id}/contribution", data)
    assert response.status_code == 422
    assert (
        session.scalar(select(Contribution).where(Contribution.meeting_event_id == event.id))
        is None
    )


# --- Synthesis -------------------------------------------------------------------------------


def test_synthesis_counts_meeting_contributions_apart(session) -> None:
    organiser = _coordinator()
    event = _past_event(organiser)
    online = [ContributionFactory(author=UserFactory(academie_code="16")) for _ in range(2)]
    for audience in ("parent", "parent", "eleve"):
        ContributionFactory(
            author=organiser,
            meeting_event_id=event.id,
            author_audience=audience,
            author_academie_code="16",
        )
    engine.compile_all(session, topics=False)
    df = store.load(session, "national", "", public=False)["participation"]

    def figure(indicator: str, audience: str = "*") -> tuple[int, int]:
        row = df[(df["indicator"] == indicator) & (df["audience"] == audience)]
        return (int(row["value"].iloc[0]), int(row["people"].iloc[0])) if len(row) else (0, 0)

    assert figure("meeting_contributions") == (3, 3)
    assert figure("meeting_contributions", "parent") == (2, 2)
    assert figure("contributions") == (len(online), len(online))
    # The organiser typed them in: not a participant for it.
    assert figure("participants") == (2, 2)
    assert db.session.get(Event, event.id) is not None
    assert session.scalar(select(EventRegistration).limit(1)) is None


# --- Paper questionnaires of a meeting --------------------------------------------------------


def test_a_code_batch_names_its_meeting_for_its_organisers_only(app, client, session, monkeypatch):
    from surveys.models import AccessCodeBatch
    from tests.surveys_factories import load_small

    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    organiser = _coordinator()
    event = _past_event(organiser, title="Réunion des familles")
    other = _past_event(_coordinator("13"), scope_code="13", title="Ailleurs")
    client.login(organiser.email)
    form_url = f"/questionnaire/codes/nouveau?evenement={event.id}"
    page = client.get(form_url).get_data(as_text=True)
    assert "Réunion des familles" in page and "Ailleurs" not in page
    base = {"label": "Papier", "audience": "eleve", "academie": "16", "size": "3"}
    base["valid_days"] = "10"
    # Hostile: another organiser's meeting, garbage.
    for value in (str(other.id), "abc", "-1", "9" * 30):
        response = client.submit("/questionnaire/codes/nouveau", base | {"event": value})
        assert response.status_code == 422, value
    response = client.submit("/questionnaire/codes/nouveau", base | {"event": str(event.id)})
    assert response.status_code == 302
    batch = session.scalar(select(AccessCodeBatch).where(AccessCodeBatch.event_id == event.id))
    assert batch is not None and batch.size == 3
    page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "Questionnaires papier de la rencontre" in page
    assert "saisis sur 3 codes" in page
    client.logout()
    page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "Questionnaires papier" not in page


# --- Attachments of the minutes ---------------------------------------------------------------


PDF = b"%PDF-1.4\n% minutes\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def files_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "TERRITORIAL_UPLOAD_DIR", str(tmp_path))
    return tmp_path


def _upload(client, event_id, content, name, label=""):
    import io

    url = f"/territoires/evenements/{event_id}/compte-rendu"
    return client.submit(
        f"{url}/pieces-jointes",
        {"file": (io.BytesIO(content), name), "label": label},
        page=url,
        content_type="multipart/form-data",
    )


@pytest.mark.parametrize(
    ("content", "name", "status"),
    [
        (PNG, "feuille.pdf", 415),  # the extension lies about the content
        (b"<script>alert(1)</script>", "page.html", 415),
        (b"", "vide.pdf", 422),
        (PDF + b"x" * 2048, "gros.pdf", 413),
    ],
)
def test_minutes_attachments_refuse_hostile_files(
    app, client, session, files_dir, monkeypatch, content, name, status
) -> None:
    monkeypatch.setitem(app.config, "TERRITORIAL_MAX_ATTACHMENT_BYTES", 1024)
    organiser = _coordinator()
    event = _past_event(organiser)
    services.publish_minutes(session, organiser, event, "Un compte rendu détaillé.", {})
    client.login(organiser.email)
    assert _upload(client, event.id, content, name).status_code == status
    assert list(files_dir.iterdir()) == []


def test_minutes_attachment_lifecycle(client, session, files_dir) -> None:
    from consult.territorial.models import EventAttachment

    organiser = _coordinator()
    event = _past_event(organiser)
    client.login(organiser.email)
    # No minutes yet: nothing to attach to.
    assert _upload(client, event.id, PDF, "cr.pdf").status_code == 409
    services.publish_minutes(session, organiser, event, "Un compte rendu détaillé.", {})
    assert _upload(client, event.id, PDF, "cr.pdf", "Diaporama <b>").status_code == 302
    found = session.scalar(select(EventAttachment).where(EventAttachment.event_id == event.id))
    assert (files_dir / found.stored_name).read_bytes() == PDF
    client.logout()
    page = client.get(f"/territoires/evenements/{event.id}").get_data(as_text=True)
    assert "Diaporama &lt;b&gt;" in page
    download = client.get(f"/territoires/evenements/pieces-jointes/{found.id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert "attachment" in download.headers["Content-Disposition"]
    download.close()
    # Someone else cannot add or delete.
    outsider = UserFactory()
    client.login(outsider.email)
    assert _upload(client, event.id, PDF, "x.pdf").status_code == 403
    url = f"/territoires/evenements/pieces-jointes/{found.id}/supprimer"
    page = f"/territoires/evenements/{event.id}"
    assert client.submit(url, page=page).status_code == 403
    client.logout()
    client.login(organiser.email)
    assert client.submit(url, page=f"{page}/compte-rendu").status_code == 302
    assert list(files_dir.iterdir()) == []


# --- The results space cites meetings (through the sources registry) ------------------


def test_results_cite_minutes_and_meeting_contributions(session) -> None:
    from synthesis import results

    organiser = _coordinator()
    analyst = RoleGrantFactory(role="analyst").user
    event = _past_event(organiser, title="Café des parents")
    services.publish_minutes(session, organiser, event, "Un compte rendu détaillé.", {"parent": 9})
    no_minutes = _past_event(organiser, title="Sans compte rendu")
    from forums import services as forum_services

    collected = forum_services.record_meeting_contribution(
        session, organiser, event, first_subtheme().id, "parent", "Du matériel", "Des tablettes."
    )

    def proposal(user, kind="national", code=""):
        draft = results.start_draft(session, results.scope(kind, code), user)
        return results.add_proposal(
            session,
            draft,
            user,
            theme=first_subtheme().theme.slug,
            title="P",
            text="x",
            position=None,
        )

    national = proposal(analyst)
    cited = results.add_source(session, national, analyst, f"compte_rendu:{event.id}")
    assert cited.kind == "compte_rendu" and cited.label == "Compte rendu — Café des parents"
    assert cited.url == f"/territoires/evenements/{event.id}#compte-rendu"
    by_url = results.add_source(
        session,
        national,
        analyst,
        f"https://consult.test/forums/contributions/{collected.id}",
        host="consult.test",
    )
    assert "recueillie lors de la rencontre « Café des parents »" in by_url.label
    with pytest.raises(results.ResultsError):
        results.add_source(session, national, analyst, f"compte_rendu:{no_minutes.id}")
    # A Poitiers synthesis cannot cite a Toulouse meeting; Toulouse's can.
    poitiers_coordinator = _coordinator("13")
    poitiers = proposal(poitiers_coordinator, "academie", "13")
    with pytest.raises(results.ResultsError):
        results.add_source(session, poitiers, poitiers_coordinator, f"rencontre:{event.id}")
    toulouse = proposal(organiser, "academie", "16")
    assert results.add_source(session, toulouse, organiser, f"/territoires/evenements/{event.id}")
