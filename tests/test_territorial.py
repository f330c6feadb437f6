"""Territorial pages, ideas box, calendar, news, feeds and API."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree as ET

import icalendar
import pytest
from jinja2 import ChoiceLoader, DictLoader
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from consult.db import utcnow
from consult.hooks import hooks
from consult.territorial.models import Event, EventRegistration, Idea, IdeaSupport, NewsItem
from consult.territories import catalog
from synthesis import privacy
from tests.factories import RoleGrantFactory, UserFactory
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory

ATOM = "{http://www.w3.org/2005/Atom}"


def coordinator(kind: str = "academie", code: str = "16", **kw):
    user = UserFactory(**kw)
    RoleGrantFactory(user=user, role="coordinator", scope_kind=kind, scope_code=code)
    return user


def _text(response) -> str:
    return response.get_data(as_text=True)


def _event_form(**overrides) -> dict:
    data = {
        "territory": "academie:16",
        "title": "Atelier numérique à Toulouse",
        "description": "Partager ce qui a marché pendant le confinement.",
        "starts_at": "2030-03-10T14:00",
        "ends_at": "2030-03-10T17:00",
        "place": "Rectorat de Toulouse",
        "online_url": "",
        "audiences": ["parent", "professeur"],
        "registration_url": "",
        "capacity": "",
    }
    data.update(overrides)
    return data


# --- Territorial pages -----


def test_index_lists_every_region_and_academie(client, session) -> None:
    response = client.get("/territoires/")
    assert response.status_code == 200
    html = _text(response)
    cat = catalog()
    assert len(cat.regions) == 18 and len(cat.academies) == 30
    for region in cat.regions.values():
        assert f'href="/territoires/region/{region.slug}/"' in html
    for acad in cat.academies.values():
        assert f'href="/territoires/{acad.slug}/"' in html
    assert html.count("<h1") == 1


def test_index_map_links_every_academie(client, session) -> None:
    from consult.territorial.map import france_map

    fmap = france_map()
    assert sum(len(a.paths) for a in fmap.areas) == 96  # metropolitan départements
    assert len(fmap.areas) + len(fmap.elsewhere) == 30
    assert {catalog().academies[c].name for c in fmap.elsewhere} == {
        "Guadeloupe",
        "Guyane",
        "Martinique",
        "Mayotte",
        "La Réunion",
    }
    html = _text(client.get("/territoires/"))
    svg = html[html.index("<svg") : html.index("</svg>")]
    for area in fmap.areas:
        # French elision: « Académie d’Amiens », « Académie de Lille ».
        label = f"Académie d’{area.name}" if area.name[0] in "AEIOU" else f"Académie de {area.name}"
        assert f'href="/territoires/{area.slug}/" aria-label="{label}"' in svg
    assert svg.count("<path") == 96
    assert "CC BY 4.0" in html


def test_academie_and_region_pages(client, session) -> None:
    response = client.get("/territoires/toulouse/")
    assert response.status_code == 200
    assert "Académie de Toulouse" in _text(response)
    assert 'href="/territoires/region/occitanie/"' in _text(response)
    response = client.get("/territoires/region/occitanie/")
    assert response.status_code == 200
    html = _text(response)
    assert "Région académique Occitanie" in html
    assert 'href="/territoires/toulouse/"' in html and 'href="/territoires/montpellier/"' in html


@pytest.mark.parametrize(
    "path",
    [
        "/territoires/atlantide/",
        "/territoires/region/atlantide/",
        "/territoires/atlantide/agenda.ics",
        "/territoires/atlantide/actualites.atom",
        "/territoires/atlantide/idees/",
        "/territoires/idees/999999",
        "/territoires/evenements/999999",
        "/territoires/actualites/999999",
    ],
)
def test_unknown_territory_or_item_is_a_french_404(client, session, path) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "Page introuvable" in _text(response)


def test_participation_counters_come_from_the_compilation(client, session) -> None:
    from synthesis import engine

    def active(audience: str) -> None:
        # Mayotte: tiny numbers.
        IdeaFactory(author=UserFactory(academie_code="43", audience=audience))

    for _ in range(3):
        active("parent")
    session.flush()
    html = _text(client.get("/territoires/mayotte/"))
    assert "seront publiés avec la première synthèse" in html
    assert "Parents</th>" not in html
    assert "Idées publiées : 3" in html
    engine.compile_all(session, topics=False)
    html = _text(client.get("/territoires/mayotte/"))
    assert "Trop peu de participants pour détailler par public." in html
    assert "Parents</th>" not in html
    for _ in range(10):
        active("parent")
    for _ in range(11):
        active("professeur")
    session.flush()
    engine.compile_all(session, topics=False)
    html = _text(client.get("/territoires/mayotte/"))
    row = re.search(r"Parents</th><td>([^<]*)</td>", html)
    total = re.search(r"Total</th><td>(\d+)</td>", html)
    assert row and abs(int(row.group(1)) - 13) <= privacy.D  # perturbed by its cell key
    assert total and abs(int(total.group(1)) - 24) <= privacy.D
    # Mayotte is a région of one académie: its région page prints the same figures.
    region = _text(client.get("/territoires/region/mayotte/"))
    assert re.search(r"Parents</th><td>([^<]*)</td>", region).group(1) == row.group(1)
    assert re.search(r"Total</th><td>(\d+)</td>", region).group(1) == total.group(1)


def test_territory_panels_are_rendered_with_the_territory(app, client, session) -> None:
    panel = "territorial/_test_panel.html"
    original = app.jinja_loader
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    panel: "<p id='panel'>{{ territory.kind }}|{{ territory.code }}|"
                    "{{ territory.name }}|{{ territory['slug'] }}|"
                    "{{ academie_codes | join(',') }}</p>"
                }
            ),
            original,
        ]
    )
    hooks(app).territory_panels.append(panel)
    try:
        assert "<p id='panel'>academie|16|Toulouse|toulouse|16</p>" in _text(
            client.get("/territoires/toulouse/")
        )
        assert "<p id='panel'>region|76|Occitanie|occitanie|11,16</p>" in _text(
            client.get("/territoires/region/occitanie/")
        )
    finally:
        hooks(app).territory_panels.remove(panel)
        app.jinja_env.loader = original


# --- Ideas box -----


def test_post_idea_goes_to_the_authors_academie_with_a_snapshot(client, session) -> None:
    parent = UserFactory(audience="parent", academie_code="16")
    client.login(parent.email)
    response = client.submit(
        "/territoires/idees/nouvelle",
        {
            "title": "Des ordinateurs pour les familles",
            "body": "Prêter des ordinateurs aux familles qui n'en ont pas pendant l'année.",
        },
    )
    assert response.status_code == 302
    idea = session.scalars(select(Idea).where(Idea.author_id == parent.id)).one()
    assert (idea.academie_code, idea.author_audience, idea.author_academie_code) == (
        "16",
        "parent",
        "16",
    )
    # A later profile change does not move the idea nor its snapshot.
    parent.academie_code = "13"
    parent.audience = "professeur"
    session.flush()
    session.refresh(idea)
    assert (idea.academie_code, idea.author_audience) == ("16", "parent")


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"title": "", "body": ""}, 422),
        ({"title": "x" * 10_000, "body": "Une idée tout à fait raisonnable."}, 422),
        ({"title": "Une idée valable", "body": "y" * 10_000}, 422),
        ({"title": "abc", "body": "trop court"}, 422),
    ],
)
def test_post_idea_refuses_bad_input(client, session, data, status) -> None:
    user = UserFactory(academie_code="16")
    client.login(user.email)
    response = client.submit("/territoires/idees/nouvelle", data)
    assert response.status_code == status
    assert session.scalar(select(func.count()).select_from(Idea)) == 0


def test_post_idea_without_csrf_is_refused(client, session) -> None:
    user = UserFactory(academie_code="16")
    client.login(user.email)
    response = client.post(
        "/territoires/idees/nouvelle",
        data={"title": "Une idée valable", "body": "Une idée tout à fait raisonnable."},
    )
    assert response.status_code == 400
    assert "jeton de sécurité" in _text(response)


def test_post_idea_needs_login(client, session) -> None:
    response = client.get("/territoires/idees/nouvelle")
    assert response.status_code == 302
    assert "/compte/connexion" in response.headers["Location"]


def test_idea_markup_is_escaped(client, session) -> None:
    idea = IdeaFactory(body="<script>alert(1)</script> **gras** [lien](javascript:alert(1))")
    html = _text(client.get(f"/territoires/idees/{idea.id}"))
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html
    assert "<strong>gras</strong>" in html
    assert 'href="javascript' not in html


def test_minor_with_contact_details_is_held_for_review(client, session) -> None:
    pupil = UserFactory(audience="eleve", school_level="college", academie_code="16")
    client.login(pupil.email)
    response = client.submit(
        "/territoires/idees/nouvelle",
        {"title": "Appelez-moi", "body": "Mon numéro est le 06 12 34 56 78 pour en parler."},
    )
    assert response.status_code == 302
    idea = session.scalars(select(Idea).where(Idea.author_id == pupil.id)).one()
    assert idea.held_for_review and not idea.is_visible
    assert client.get(f"/territoires/idees/{idea.id}").status_code == 200  # the author sees it
    client.logout()
    assert client.get(f"/territoires/idees/{idea.id}").status_code == 404
    assert "06 12 34" not in _text(client.get("/territoires/toulouse/idees/"))
    assert client.get(f"/api/v1/ideas/{idea.id}").status_code == 404


def test_support_once_own_refused_counter_exact(client, session) -> None:
    idea = IdeaFactory()
    supporters = [UserFactory(academie_code="16") for _ in range(2)]
    for person in supporters:
        client.login(person.email)
        url = f"/territoires/idees/{idea.id}"
        assert client.submit(f"{url}/soutenir", page=url).status_code == 302
        again = client.submit(f"{url}/soutenir", page=url)
        assert again.status_code == 409
        assert "déjà" in _text(again)
        client.logout()
    session.refresh(idea)
    assert idea.support_count == 2
    assert session.scalar(select(func.count()).where(IdeaSupport.idea_id == idea.id)) == 2

    client.login(idea.author.email)
    own = client.submit(
        f"/territoires/idees/{idea.id}/soutenir", page=f"/territoires/idees/{idea.id}"
    )
    assert own.status_code == 403
    assert "propre idée" in _text(own)
    session.refresh(idea)
    assert idea.support_count == 2


def test_support_is_unique_in_the_database(session) -> None:
    idea = IdeaFactory()
    user = UserFactory()
    session.add(IdeaSupport(idea_id=idea.id, user_id=user.id, author_audience="parent"))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(IdeaSupport(idea_id=idea.id, user_id=user.id, author_audience="parent"))
        session.flush()


def test_support_tampered_id_and_missing_csrf(client, session) -> None:
    user = UserFactory()
    client.login(user.email)
    assert (
        client.submit("/territoires/idees/999999/soutenir", page="/territoires/").status_code == 404
    )
    idea = IdeaFactory()
    assert client.post(f"/territoires/idees/{idea.id}/soutenir").status_code == 400


@pytest.mark.parametrize(
    ("grant", "status"),
    [
        (("coordinator", "academie", "16"), 302),
        (("coordinator", "region", "76"), 302),  # Occitanie covers Toulouse
        (("coordinator", "academie", "13"), 403),  # Poitiers does not
        (("coordinator", "region", "75"), 403),
        (("moderator", "national", ""), 403),
        (("admin", "national", ""), 302),
        (None, 403),
    ],
)
def test_answer_is_for_the_territorys_coordinators(client, session, grant, status) -> None:
    idea = IdeaFactory()
    user = UserFactory()
    if grant:
        RoleGrantFactory(user=user, role=grant[0], scope_kind=grant[1], scope_code=grant[2])
    client.login(user.email)
    url = f"/territoires/idees/{idea.id}"
    response = client.submit(
        f"{url}/reponse",
        {"status": "retenue", "answer": "Retenue pour la rentrée prochaine."},
        page="/territoires/",
    )
    assert response.status_code == status
    session.refresh(idea)
    assert (idea.status == "retenue") is (status == 302)


@pytest.mark.parametrize(
    "data",
    [
        {"status": "acceptee", "answer": "Une réponse tout à fait valable."},
        {"status": "retenue", "answer": ""},
        {"status": "retenue", "answer": "z" * 10_000},
        {"status": "", "answer": "Une réponse tout à fait valable."},
    ],
)
def test_answer_refuses_bad_input(client, session, data) -> None:
    idea = IdeaFactory()
    coord = coordinator()
    client.login(coord.email)
    response = client.submit(
        f"/territoires/idees/{idea.id}/reponse", data, page=f"/territoires/idees/{idea.id}"
    )
    assert response.status_code == 422
    session.refresh(idea)
    assert idea.status is None and idea.answer is None


def test_ideas_list_filters_and_pages(client, session) -> None:
    for _ in range(25):
        IdeaFactory()
    answered = IdeaFactory(status="realisee", answer="C'est fait.")
    html = _text(client.get("/territoires/toulouse/idees/?statut=realisee"))
    assert f"/territoires/idees/{answered.id}" in html
    assert html.count('href="/territoires/idees/') == 1
    assert client.get("/territoires/toulouse/idees/?page=2").status_code == 200
    assert client.get("/territoires/toulouse/idees/?page=9").status_code == 404
    assert client.get("/territoires/toulouse/idees/?page=abc&tri=<x>&statut=<y>").status_code == 200
    assert client.get("/territoires/region/occitanie/idees/").status_code == 200


# --- Calendar -----


def test_coordinator_publishes_an_event(client, session) -> None:
    coord = coordinator()
    client.login(coord.email)
    response = client.submit("/territoires/evenements/nouveau", _event_form(capacity="30"))
    assert response.status_code == 302, _text(response)[:2000]
    event = session.scalars(select(Event)).one()
    assert (event.scope_kind, event.scope_code, event.capacity) == ("academie", "16", 30)
    # 14:00 in Paris in March is 13:00 UTC.
    assert event.starts_at.hour == 13
    assert event.audiences == ["parent", "professeur"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"ends_at": "2030-03-10T13:00"}, "postérieure"),
        ({"place": "", "online_url": ""}, "lieu ou un lien"),
        ({"registration_url": "https://exemple.fr/inscription", "capacity": "20"}, "soit"),
        ({"online_url": "javascript:alert(1)"}, "https://"),
        ({"registration_url": "data:text/html,x"}, "https://"),
        ({"starts_at": "demain"}, "date"),
        ({"capacity": "-3"}, ""),
        ({"capacity": "abc"}, ""),
        ({"title": "t" * 10_000}, ""),
        ({"audiences": []}, "public"),
        ({"audiences": ["extraterrestres"]}, ""),
        ({"territory": "academie:13"}, ""),  # Poitiers: not this coordinator's
        ({"territory": "national:"}, ""),
        ({"territory": "academie:99"}, ""),
    ],
)
def test_event_form_refuses_bad_input(client, session, overrides, message) -> None:
    coord = coordinator()
    client.login(coord.email)
    response = client.submit("/territoires/evenements/nouveau", _event_form(**overrides))
    assert response.status_code == 422
    assert message in _text(response)
    assert session.scalar(select(func.count()).select_from(Event)) == 0


def test_event_dates_are_checked_by_the_database(session) -> None:
    with pytest.raises(IntegrityError), session.begin_nested():
        EventFactory(ends_at=utcnow() - timedelta(days=400))


def test_registration_once_and_capacity(client, session) -> None:
    event = EventFactory(capacity=2)
    url = f"/territoires/evenements/{event.id}"
    people = [UserFactory() for _ in range(3)]
    client.login(people[0].email)
    assert client.submit(f"{url}/inscription", page=url).status_code == 302
    twice = client.submit(f"{url}/inscription", page=url)
    assert twice.status_code == 409 and "déjà inscrit" in _text(twice)
    client.logout()
    client.login(people[1].email)
    assert client.submit(f"{url}/inscription", page=url).status_code == 302
    client.logout()
    client.login(people[2].email)
    full = client.submit(f"{url}/inscription", page=url, follow_redirects=True)
    assert "liste d'attente, en position 1" in _text(full).replace("&#39;", "'")
    session.refresh(event)
    assert event.registered_count == 2
    client.logout()
    client.login(people[0].email)
    assert client.submit(f"{url}/desinscription", page=url).status_code == 302
    assert client.submit(f"{url}/desinscription", page=url).status_code == 409
    session.refresh(event)
    # The place went to the person on the waiting list.
    assert event.registered_count == 2


def test_no_registration_without_capacity(client, session) -> None:
    event = EventFactory(registration_url="https://exemple.fr/inscription")
    user = UserFactory()
    client.login(user.email)
    url = f"/territoires/evenements/{event.id}"
    assert client.submit(f"{url}/inscription", page=url).status_code == 403
    assert session.scalar(select(func.count()).select_from(EventRegistration)) == 0


def test_capacity_cannot_drop_below_registrations(client, session) -> None:
    event = EventFactory(capacity=1)
    attendee = UserFactory()
    client.login(attendee.email)
    url = f"/territoires/evenements/{event.id}"
    client.submit(f"{url}/inscription", page=url)
    client.logout()
    coord = coordinator()
    client.login(coord.email)
    response = client.submit(f"{url}/modifier", _event_form(capacity=""))
    assert response.status_code == 422
    assert "inscrites" in _text(response)


def test_coordinator_edits_and_deletes_an_event(client, session) -> None:
    event = EventFactory()
    coord = coordinator("region", "76")
    client.login(coord.email)
    url = f"/territoires/evenements/{event.id}"
    assert client.get(f"{url}/modifier").status_code == 200
    response = client.submit(f"{url}/modifier", _event_form(title="Atelier modifié à Toulouse"))
    assert response.status_code == 302
    session.refresh(event)
    assert event.title == "Atelier modifié à Toulouse"
    assert client.submit(f"{url}/supprimer", page=url).status_code == 302
    assert session.scalar(select(func.count()).where(Event.id == event.id)) == 0


def _ics(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return icalendar.Calendar.from_ical(response.data)


def test_icalendar_feeds_parse_and_follow_the_territory(client, session) -> None:
    toulouse = EventFactory(title="Atelier de Toulouse")
    montpellier = EventFactory(scope_code="11", title="Atelier de Montpellier")
    occitanie = EventFactory(scope_kind="region", scope_code="76", title="Forum Occitanie")
    poitiers = EventFactory(scope_code="13", title="Atelier de Poitiers")

    def summaries(cal):
        assert cal["VERSION"] == "2.0" and cal["PRODID"]
        events = cal.walk("VEVENT")
        for item in events:
            for prop in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
                assert prop in item
            assert item.decoded("DTEND") >= item.decoded("DTSTART")
        return {str(e["SUMMARY"]) for e in events}

    assert summaries(_ics(client, "/territoires/toulouse/agenda.ics")) == {
        toulouse.title,
        occitanie.title,
    }
    assert summaries(_ics(client, "/territoires/region/occitanie/agenda.ics")) == {
        toulouse.title,
        montpellier.title,
        occitanie.title,
    }
    assert {toulouse.title, montpellier.title, occitanie.title, poitiers.title} <= summaries(
        _ics(client, "/territoires/agenda.ics")
    )
    cal = _ics(client, "/territoires/toulouse/agenda.ics")
    item = next(e for e in cal.walk("VEVENT") if str(e["SUMMARY"]) == toulouse.title)
    assert item.decoded("DTSTART").utcoffset() == timedelta(0)
    assert item.decoded("DTSTART").replace(tzinfo=None) == toulouse.starts_at.replace(microsecond=0)


def test_national_days_in_poitiers_appear_in_the_national_feed(client, session) -> None:
    from datetime import datetime

    EventFactory(
        scope_kind="national",
        scope_code="",
        title="Journées nationales",
        starts_at=datetime(2020, 11, 4, 8),
        ends_at=datetime(2020, 11, 5, 17),
        place="Poitiers",
    )
    cal = _ics(client, "/territoires/agenda.ics")
    days = [e for e in cal.walk("VEVENT") if str(e["SUMMARY"]) == "Journées nationales"]
    assert len(days) == 1
    assert days[0].decoded("DTSTART").date().isoformat() == "2020-11-04"
    assert str(days[0]["LOCATION"]) == "Poitiers"


# --- News -----


def test_coordinator_publishes_news_rendered_safely(client, session) -> None:
    coord = coordinator()
    client.login(coord.email)
    response = client.submit(
        "/territoires/actualites/nouvelle",
        {
            "territory": "academie:16",
            "title": "Lancement des ateliers",
            "body": "Les **ateliers** commencent <script>alert(1)</script>.",
        },
    )
    assert response.status_code == 302
    item = session.scalars(select(NewsItem)).one()
    html = _text(client.get(f"/territoires/actualites/{item.id}"))
    assert "<strong>ateliers</strong>" in html and "<script>alert" not in html


@pytest.mark.parametrize(
    "data",
    [
        {"territory": "academie:13", "title": "Ailleurs", "body": "Pas mon territoire du tout."},
        {"territory": "academie:16", "title": "", "body": ""},
        {"territory": "academie:16", "title": "Titre correct", "body": "b" * 10_000},
        {"territory": "<script>", "title": "Titre correct", "body": "Un texte assez long."},
    ],
)
def test_news_form_refuses_bad_input(client, session, data) -> None:
    coord = coordinator()
    client.login(coord.email)
    assert client.submit("/territoires/actualites/nouvelle", data).status_code == 422
    assert session.scalar(select(func.count()).select_from(NewsItem)) == 0


def _atom(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # noqa: S314 - our own feed, parsed to validate it
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert root.find(f"{ATOM}{tag}") is not None
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for tag in ("id", "title", "updated", "author", "content"):
            assert entry.find(f"{ATOM}{tag}") is not None
    return {e.find(f"{ATOM}title").text for e in entries}


def test_atom_feeds_are_valid_and_follow_the_territory(client, session) -> None:
    toulouse = NewsFactory()
    poitiers = NewsFactory(scope_code="13")
    occitanie = NewsFactory(scope_kind="region", scope_code="76")
    assert _atom(client, "/territoires/toulouse/actualites.atom") == {
        toulouse.title,
        occitanie.title,
    }
    assert _atom(client, "/territoires/region/occitanie/actualites.atom") == {
        toulouse.title,
        occitanie.title,
    }
    assert {toulouse.title, poitiers.title} <= _atom(client, "/territoires/actualites.atom")


# --- API -----


def test_api_ideas_and_events(client, session) -> None:
    ideas = [IdeaFactory() for _ in range(3)]
    IdeaFactory(hidden_at=utcnow())
    EventFactory()
    response = client.get("/api/v1/ideas?academie=16&limit=2")
    assert response.status_code == 200
    body = response.get_json()
    assert [i["id"] for i in body["data"]] == [ideas[0].id, ideas[1].id]
    assert "@" not in response.get_data(as_text=True)
    rest = client.get(body["next"]).get_json()
    assert [i["id"] for i in rest["data"]] == [ideas[2].id] and rest["next"] is None
    assert client.get("/api/v1/ideas?academie=99").status_code == 404
    assert client.get("/api/v1/ideas?cursor=abc").status_code == 400
    events = client.get("/api/v1/events?region=76").get_json()["data"]
    assert len(events) == 1 and events[0]["scope"] == {"kind": "academie", "code": "16"}
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/ideas", "/ideas/{idea_id}", "/events", "/events/{event_id}"} <= set(paths)


# --- Account hooks -----


def test_personal_data_and_account_deletion(client, session) -> None:
    idea = IdeaFactory()
    event = EventFactory(capacity=5)
    user = UserFactory()
    client.login(user.email)
    client.submit(f"/territoires/idees/{idea.id}/soutenir", page=f"/territoires/idees/{idea.id}")
    url = f"/territoires/evenements/{event.id}"
    client.submit(f"{url}/inscription", page=url)
    from consult.territorial import services

    data = services.personal_data(session, user)
    assert data["territorial_idea_supports"][0]["idea_id"] == idea.id
    assert data["territorial_event_registrations"][0]["event_id"] == event.id
    services.delete_account(session, user)
    session.flush()
    session.refresh(event)
    assert event.registered_count == 0
    assert session.scalar(select(func.count()).select_from(EventRegistration)) == 0


# --- Moderation (shared consult.moderation tools) ---------


def test_ideas_are_reported_and_hidden_through_the_shared_moderation(app, client, session) -> None:
    idea = IdeaFactory()
    url = f"/territoires/idees/{idea.id}"
    reporter = UserFactory()
    client.login(reporter.email)
    assert "/moderation/signaler/idea/" in _text(client.get(url))
    response = client.submit(
        f"/moderation/signaler/idea/{idea.id}",
        {"reason": "injurieux", "text": "Propos blessants."},
    )
    assert response.status_code == 302
    session.refresh(idea)
    assert idea.report_count == 1
    client.logout()

    # The coordinator of Toulouse moderates the ideas of their académie...
    coord = coordinator()
    client.login(coord.email)
    response = client.submit(
        f"/moderation/idea/{idea.id}/masquer", {"reason": "Propos injurieux."}, page=url
    )
    assert response.status_code == 302
    session.refresh(idea)
    assert idea.hidden_at is not None
    client.logout()
    # ...and the hidden idea leaves the public list, the API and cannot be supported.
    assert f"/territoires/idees/{idea.id}" not in _text(client.get("/territoires/toulouse/idees/"))
    assert client.get(f"/api/v1/ideas/{idea.id}").status_code == 404
    assert client.get(url).status_code == 404
    client.login(reporter.email)
    assert client.submit(f"{url}/soutenir", page="/territoires/").status_code == 404


def test_a_coordinator_of_another_academie_cannot_moderate_the_idea(client, session) -> None:
    idea = IdeaFactory()
    coord = coordinator("academie", "13")
    client.login(coord.email)
    response = client.submit(
        f"/moderation/idea/{idea.id}/masquer", {"reason": "Hors sujet."}, page="/territoires/"
    )
    assert response.status_code == 403
    session.refresh(idea)
    assert idea.hidden_at is None


def test_account_panel_lists_my_ideas_and_registrations(client, session) -> None:
    idea = IdeaFactory()
    event = EventFactory(capacity=3, title="Atelier où je suis inscrit")
    client.login(idea.author.email)
    url = f"/territoires/evenements/{event.id}"
    client.submit(f"{url}/inscription", page=url)
    html = _text(client.get("/compte/"))
    assert f"/territoires/idees/{idea.id}" in html
    assert "&lt;script&gt;" in html and "<script>alert" not in html
    assert "Atelier où je suis inscrit" in html


def test_write_endpoints_are_rate_limited(app, client, session) -> None:
    idea = IdeaFactory()
    user = UserFactory()
    client.login(user.email)
    original = app.config["RATELIMIT_SUPPORT"]
    app.config["RATELIMIT_SUPPORT"] = "1 per minute"
    try:
        url = f"/territoires/idees/{idea.id}"
        assert client.submit(f"{url}/soutenir", page=url).status_code == 302
        assert client.submit(f"{url}/soutenir", page=url).status_code == 429
    finally:
        app.config["RATELIMIT_SUPPORT"] = original


def test_feeds_are_cached_when_configured(app, client, session) -> None:
    EventFactory(title="Avant la mise en cache")
    app.config["TERRITORIAL_FEED_CACHE_SECONDS"] = 60
    try:
        first = client.get("/territoires/toulouse/agenda.ics").data
        EventFactory(title="Après la mise en cache")
        assert client.get("/territoires/toulouse/agenda.ics").data == first
    finally:
        app.config["TERRITORIAL_FEED_CACHE_SECONDS"] = 0
        from consult.cache import cache

        with app.app_context():
            cache().delete("territorial:feed:ics:academie:16")
    assert "Après la mise en cache" not in first.decode("utf-8")
    assert "Après la mise en cache" in client.get("/territoires/toulouse/agenda.ics").get_data(
        as_text=True
    )


def test_calendar_lists_upcoming_and_past_events(client, session) -> None:
    from datetime import datetime

    EventFactory(
        scope_kind="national",
        scope_code="",
        title="Journées nationales de Poitiers",
        starts_at=datetime(2020, 11, 4, 8),
        ends_at=datetime(2020, 11, 5, 17),
    )
    EventFactory(title="Atelier à venir")
    upcoming = _text(client.get("/territoires/agenda/"))
    past = _text(client.get("/territoires/agenda/?periode=passees"))
    assert "Atelier à venir" in upcoming and "Journées nationales de Poitiers" not in upcoming
    assert "Journées nationales de Poitiers" in past and "Atelier à venir" not in past


def test_icalendar_description_is_plain_text_not_html(client, session) -> None:
    EventFactory(
        title="Parents & élèves",
        description="Atelier **parents & élèves** : _tablettes_, « 1 < 2 »; suite",
    )
    cal = _ics(client, "/territoires/toulouse/agenda.ics")
    item = next(e for e in cal.walk("VEVENT") if str(e["SUMMARY"]) == "Parents & élèves")
    description = str(item["DESCRIPTION"])
    assert description.startswith("Atelier parents & élèves : tablettes, « 1 < 2 »; suite")
    assert "&amp;" not in description and "&lt;" not in description and "**" not in description


def test_overseas_event_is_typed_and_shown_in_its_own_time_zone(client, session) -> None:
    coord = coordinator(code="28")  # La Réunion: UTC+4 all year
    client.login(coord.email)
    response = client.submit(
        "/territoires/evenements/nouveau", _event_form(territory="academie:28")
    )
    assert response.status_code == 302, _text(response)[:2000]
    event = session.scalars(select(Event)).one()
    # 14:00 typed by La Réunion's coordinator is 10:00 UTC (not 13:00, Paris' reading).
    assert event.starts_at.hour == 10
    page = _text(client.get(f"/territoires/evenements/{event.id}"))
    assert "14h00 (heure de La Réunion)" in page
    # The edit form gives the organiser back the time they typed.
    form = _text(client.get(f"/territoires/evenements/{event.id}/modifier"))
    assert 'value="2030-03-10T14:00"' in form


def test_metropolitan_event_names_paris_time(client, session) -> None:
    from datetime import datetime

    event = EventFactory(starts_at=datetime(2030, 1, 15, 15, 2), ends_at=datetime(2030, 1, 15, 17))
    page = _text(client.get(f"/territoires/evenements/{event.id}"))
    assert "16h02 (heure de Paris)" in page
