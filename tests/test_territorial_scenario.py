"""The issue's "Done when" scenario (Retex aside), end to end through the pages: a coordinator
of the académie de Toulouse publishes an event and a news item, a parent posts an idea that two
people support, the coordinator marks it "retenue" with an answer; all of it shows on the
académie page, the région académique Occitanie page, the feeds and the API."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import icalendar
from sqlalchemy import select

from consult.territorial.models import Event, Idea, NewsItem
from tests.factories import RoleGrantFactory, UserFactory

ATOM = "{http://www.w3.org/2005/Atom}"
EVENT_TITLE = "Atelier « continuité pédagogique » à Toulouse"
NEWS_TITLE = "Les États généraux s'ouvrent dans l'académie de Toulouse"
IDEA_TITLE = "Prêter des ordinateurs aux familles"
ANSWER = "Idée retenue : 300 ordinateurs seront prêtés dès la rentrée."


def test_done_when_scenario(client, session) -> None:
    coord = UserFactory(pseudonym="CoordToulouse", academie_code="16")
    RoleGrantFactory(user=coord, role="coordinator", scope_kind="academie", scope_code="16")
    parent = UserFactory(pseudonym="ParentToulousain", audience="parent", academie_code="16")
    supporters = [UserFactory(academie_code=code) for code in ("16", "11")]

    # The coordinator publishes an event and a news item.
    client.login(coord.email)
    response = client.submit(
        "/territoires/evenements/nouveau",
        {
            "territory": "academie:16",
            "title": EVENT_TITLE,
            "description": "Partager ce qui a fonctionné pendant le confinement.",
            "starts_at": "2030-11-04T09:00",
            "ends_at": "2030-11-04T12:30",
            "place": "Rectorat de Toulouse, place Saint-Jacques",
            "audiences": ["parent", "professeur", "eleve"],
            "capacity": "40",
        },
        page="/territoires/evenements/nouveau?territoire=academie:16",
    )
    assert response.status_code == 302
    event = session.scalars(select(Event).where(Event.title == EVENT_TITLE)).one()
    response = client.submit(
        "/territoires/actualites/nouvelle",
        {
            "territory": "academie:16",
            "title": NEWS_TITLE,
            "body": "Rendez-vous **le 4 novembre** au rectorat.",
        },
    )
    assert response.status_code == 302
    news = session.scalars(select(NewsItem).where(NewsItem.title == NEWS_TITLE)).one()
    client.logout()

    # A parent posts an idea; two other people support it.
    client.login(parent.email)
    response = client.submit(
        "/territoires/idees/nouvelle",
        {
            "title": IDEA_TITLE,
            "body": "Beaucoup de familles n'avaient qu'un téléphone pour plusieurs enfants.",
        },
    )
    assert response.status_code == 302
    idea = session.scalars(select(Idea).where(Idea.title == IDEA_TITLE)).one()
    client.logout()
    idea_url = f"/territoires/idees/{idea.id}"
    for person in supporters:
        client.login(person.email)
        assert client.submit(f"{idea_url}/soutenir", page=idea_url).status_code == 302
        client.logout()

    # The coordinator marks it "retenue" with a public answer.
    client.login(coord.email)
    response = client.submit(
        f"{idea_url}/reponse", {"status": "retenue", "answer": ANSWER}, page=idea_url
    )
    assert response.status_code == 302
    client.logout()

    # Pages: the académie and the région académique.
    for path in ("/territoires/toulouse/", "/territoires/region/occitanie/"):
        html = client.get(path).get_data(as_text=True)
        assert EVENT_TITLE in html, path
        assert NEWS_TITLE.replace("'", "&#39;") in html, path
        assert IDEA_TITLE in html, path
        assert "2 soutiens" in html, path
        assert "Retenue" in html, path
    idea_page = client.get(idea_url).get_data(as_text=True)
    assert ANSWER in idea_page and "2 soutiens" in idea_page and "ParentToulousain" in idea_page

    # Feeds.
    for path in ("/territoires/toulouse/agenda.ics", "/territoires/region/occitanie/agenda.ics"):
        cal = icalendar.Calendar.from_ical(client.get(path).data)
        assert EVENT_TITLE in {str(e["SUMMARY"]) for e in cal.walk("VEVENT")}, path
    for path in (
        "/territoires/toulouse/actualites.atom",
        "/territoires/region/occitanie/actualites.atom",
    ):
        root = ET.fromstring(client.get(path).data)  # noqa: S314 - our own feed
        titles = {e.find(f"{ATOM}title").text for e in root.findall(f"{ATOM}entry")}
        assert NEWS_TITLE in titles, path

    # API.
    ideas = client.get("/api/v1/ideas?region=76").get_json()["data"]
    found = next(i for i in ideas if i["id"] == idea.id)
    assert found["status"] == "retenue" and found["answer"] == ANSWER
    assert found["support_count"] == 2 and found["author"] == "ParentToulousain"
    assert "author_audience" not in found  # a fact about a person, not about the idea
    events = client.get("/api/v1/events?academie=16").get_json()["data"]
    found_event = next(e for e in events if e["id"] == event.id)
    assert found_event["capacity"] == 40 and found_event["places_left"] == 40
    assert client.get(f"/api/v1/events/{event.id}").get_json()["title"] == EVENT_TITLE
    assert client.get(f"/territoires/actualites/{news.id}").status_code == 200
    assert "@" not in client.get("/api/v1/ideas?academie=16").get_data(as_text=True)
