"""The open-data API against hostile input and item-level disclosure: no input gives a 500,
every refusal is JSON in French, and no item carries its author's audience or académie."""

from __future__ import annotations

import json

import pytest

from tests.factories import UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory
from tests.retex_factories import make_sheet
from tests.territorial_factories import EventFactory, IdeaFactory

HUGE = "9999999999999999999999999"

# Integers beyond 64 bits in paths and cursors, malformed cursors, bad limits, NUL bytes.
HOSTILE = [
    f"/api/v1/contributions/{HUGE}",
    f"/api/v1/ideas/{HUGE}",
    f"/api/v1/events/{HUGE}",
    f"/api/v1/retex/{HUGE}",
    "/api/v1/contributions/9223372036854775808",
    "/api/v1/contributions/2147483648",
    "/api/v1/contributions?sort=recent&cursor=2147483648",
    "/api/v1/ideas?cursor=2147483648",
    f"/api/v1/contributions?cursor={HUGE}",
    f"/api/v1/contributions?sort=recent&cursor={HUGE}",
    f"/api/v1/contributions?sort=debat&cursor={HUGE}_1",
    f"/api/v1/contributions?sort=adoption&cursor=1e999_{HUGE}",
    f"/api/v1/contributions?sort=hasard&cursor=0_{HUGE}_1",
    "/api/v1/contributions?sort=hasard&cursor=7_1_1",
    "/api/v1/contributions?cursor=abc",
    "/api/v1/contributions?cursor=1_2_3_4",
    f"/api/v1/contributions?subtheme={HUGE}",
    f"/api/v1/contributions?seed={HUGE}",
    "/api/v1/contributions?sort=nope",
    f"/api/v1/ideas?cursor={HUGE}",
    f"/api/v1/events?cursor={HUGE}",
    f"/api/v1/retex?cursor={HUGE}",
    "/api/v1/retex?cursor=-1",
    "/api/v1/ideas?cursor=abc",
    *(
        f"/api/v1/{p}?limit={v}"
        for p in ("contributions", "ideas", "events", "retex")
        for v in ("-5", "0", "101", HUGE, "abc", "٣")
    ),
    "/api/v1/contributions?theme=%00",
    "/api/v1/retex?q=a%00b",
    "/api/v1/ideas?academie=%00",
    "/api/v1/ideas?academie=99",
    "/api/v1/events?region=1%00",
    "/api/v1/events?upcoming=oui",
    "/api/v1/retex?territory=academie:99",
    "/api/v1/retex?theme=9",
    f"/api/v1/syntheses/academie/{HUGE}",
    "/api/v1/syntheses/academie/13/%00",
    "/api/v1/syntheses/national/inconnue",
]


@pytest.fixture
def items(session):
    contribution = ContributionFactory()
    CommentFactory(contribution=contribution)
    idea = IdeaFactory()
    EventFactory()
    return contribution, idea


@pytest.mark.parametrize("url", HOSTILE)
def test_hostile_input_is_a_french_json_4xx(client, items, url) -> None:
    response = client.get(url)
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]["message"]
    # French, never Werkzeug's English description.
    assert message.endswith(".") and "requested" not in message and "browser" not in message


def test_bad_limit_names_the_parameter(client, session) -> None:
    response = client.get("/api/v1/contributions?limit=0")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == "Paramètre « limit » invalide."


def test_405_says_which_methods_are_allowed(client, session) -> None:
    for url in ("/api/v1/territories", "/api/v1/contributions", "/api/v1/syntheses"):
        response = client.post(url)
        assert response.status_code == 405
        assert "GET" in response.headers["Allow"]
        assert "lecture seule" in response.get_json()["error"]["message"]


def test_items_carry_no_author_audience_or_academie(client, items) -> None:
    contribution, idea = items
    bodies = [
        client.get("/api/v1/contributions").get_json()["data"][0],
        client.get(f"/api/v1/contributions/{contribution.id}").get_json(),
        client.get("/api/v1/ideas").get_json()["data"][0],
        client.get(f"/api/v1/ideas/{idea.id}").get_json(),
    ]
    comment = bodies[1]["comments"][0]
    for body in (*bodies, comment):
        assert not {"author_audience", "author_academie"} & set(body)
    # An idea keeps the académie of its ideas box: the content's territory, not a person's.
    assert bodies[3]["academie"] == idea.academie_code
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("ForumContribution", "ForumComment", "Idea"):
        assert "author_audience" not in schemas[name]["properties"]
        assert "author_academie" not in schemas[name]["properties"]


def test_author_filters_are_gone_from_contributions(client, session) -> None:
    ContributionFactory(author=UserFactory(audience="eleve", academie_code="16"))
    ContributionFactory(author=UserFactory(audience="professeur", academie_code="13"))
    for query in ("audience=eleve", "academie=16", "audience=parent&academie=01"):
        data = client.get(f"/api/v1/contributions?{query}").get_json()["data"]
        assert len(data) == 2  # ignored: the API cannot count one audience's contributions
    params = client.get("/api/v1/openapi.json").get_json()["paths"]["/contributions"]["get"]
    assert not {"audience", "academie"} & {p["name"] for p in params["parameters"]}


def test_idea_page_does_not_print_the_author_audience(client, session) -> None:
    idea = IdeaFactory(author=UserFactory(audience="eleve", academie_code="16"))
    page = client.get(f"/territoires/idees/{idea.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Proposée par" in text
    assert "(Élève)" not in text and "(élève)" not in text


def test_dates_carry_their_offset(client, items) -> None:
    contribution, idea = items
    assert (
        client.get(f"/api/v1/contributions/{contribution.id}")
        .get_json()["created_at"]
        .endswith("+00:00")
    )
    assert client.get(f"/api/v1/ideas/{idea.id}").get_json()["created_at"].endswith("+00:00")
    starts = client.get("/api/v1/events").get_json()["data"][0]["starts_at"]
    assert starts.endswith("+00:00")


def test_retex_item_dates_carry_their_offset(client, session) -> None:
    from tests.factories import RoleGrantFactory

    author = UserFactory(academie_code="16")
    coordinator = UserFactory(academie_code="16")
    RoleGrantFactory(user=coordinator, role="coordinator", scope_kind="academie", scope_code="16")
    sheet = make_sheet(author, "published", reviewer=coordinator)
    row = client.get(f"/api/v1/retex/{sheet.id}").get_json()
    assert row["published_at"].endswith("+00:00")
    assert "@" not in json.dumps(row)
