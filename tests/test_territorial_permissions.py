"""Walk the territorial permission matrix: route × role × territory. Coordinators act only
within their territory; a région académique's coordinator covers its académies; national items
are for administrators."""

from __future__ import annotations

import pytest

from consult.permissions import authorize
from consult.territorial.permissions import Permission
from tests.factories import RoleGrantFactory, UserFactory
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory

ROLES = {
    "anonymous": None,
    "participant": [],
    "moderator": [("moderator", "national", "")],
    "coord_toulouse": [("coordinator", "academie", "16")],
    "coord_occitanie": [("coordinator", "region", "76")],
    "coord_poitiers": [("coordinator", "academie", "13")],
    "coord_nouvelle_aquitaine": [("coordinator", "region", "75")],
    "analyst": [("analyst", "national", "")],
    "admin": [("admin", "national", "")],
}
COORDINATORS = {"coord_toulouse", "coord_occitanie", "coord_poitiers", "coord_nouvelle_aquitaine"}

# Territories of the objects: Toulouse (académie 16, région Occitanie 76), the région
# Occitanie itself, and national.
TERRITORIES = {
    "toulouse": ("academie", "16"),
    "occitanie": ("region", "76"),
    "national": ("national", ""),
}
MANAGERS = {
    "toulouse": {"coord_toulouse", "coord_occitanie", "admin"},
    "occitanie": {"coord_occitanie", "admin"},
    "national": {"admin"},
}


def _make(role: str):
    grants = ROLES[role]
    if grants is None:
        return None
    user = UserFactory(academie_code="16")
    for name, kind, code in grants:
        RoleGrantFactory(user=user, role=name, scope_kind=kind, scope_code=code)
    return user


def _expected(allowed: set[str], role: str, ok: int) -> int:
    if role == "anonymous":
        return 302
    return ok if role in allowed else 403


def _cases():
    cases = []
    creators = COORDINATORS | {"admin"}
    for path in ("/territoires/evenements/nouveau", "/territoires/actualites/nouvelle"):
        for role in ROLES:
            cases.append(("GET", path, None, role, _expected(creators, role, 200)))
    for territory, allowed in MANAGERS.items():
        for role in ROLES:
            for route, method, ok in (
                ("/territoires/evenements/{event}/modifier", "GET", 200),
                ("/territoires/evenements/{event}/supprimer", "POST", 302),
                ("/territoires/actualites/{news}/modifier", "GET", 200),
                ("/territoires/actualites/{news}/supprimer", "POST", 302),
            ):
                cases.append((method, route, territory, role, _expected(allowed, role, ok)))
    for role in ROLES:
        cases.append(
            (
                "POST",
                "/territoires/idees/{idea}/reponse",
                "toulouse",
                role,
                _expected(MANAGERS["toulouse"], role, 302),
            )
        )
    return [pytest.param(m, p, t, r, s, id=f"{m} {p} [{t}] as {r}") for m, p, t, r, s in cases]


@pytest.mark.parametrize(("method", "route", "territory", "role", "status"), _cases())
def test_route_matrix(client, session, method, route, territory, role, status) -> None:
    kind, code = TERRITORIES[territory or "toulouse"]
    event = EventFactory(scope_kind=kind, scope_code=code)
    news = NewsFactory(scope_kind=kind, scope_code=code)
    idea = IdeaFactory()
    path = route.format(event=event.id, news=news.id, idea=idea.id)
    user = _make(role)
    if user is not None:
        client.login(user.email)
    if method == "GET":
        response = client.get(path)
    else:
        data = {"status": "retenue", "answer": "Une réponse publique argumentée."}
        response = client.submit(path, data, page="/territoires/")
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 302 and role == "anonymous":
        assert "/compte/connexion" in response.headers["Location"]


POLICY_SCOPES = [
    (("academie", "16"), MANAGERS["toulouse"]),
    (("academie", "11"), {"coord_occitanie", "admin"}),  # Montpellier, also in Occitanie
    (("academie", "13"), {"coord_poitiers", "coord_nouvelle_aquitaine", "admin"}),
    (("region", "76"), MANAGERS["occitanie"]),
    (("region", "75"), {"coord_nouvelle_aquitaine", "admin"}),
    (("national", ""), {"admin"}),
    (("academie", "99"), {"admin"}),  # unknown code: only the admin's blanket rule applies
    (("planete", "1"), set()),
]


@pytest.mark.parametrize("permission", [Permission.EVENT_MANAGE, Permission.NEWS_MANAGE])
@pytest.mark.parametrize(("scope", "allowed"), POLICY_SCOPES)
def test_policy_scopes(session, permission, scope, allowed) -> None:
    for role in ROLES:
        user = _make(role)
        assert authorize(user, permission, scope) is (role in allowed), (role, scope)


def test_idea_policy(session) -> None:
    idea = IdeaFactory()
    author = idea.author
    for role in ROLES:
        user = _make(role)
        assert authorize(user, Permission.IDEA_ANSWER, idea) is (role in MANAGERS["toulouse"])
        assert authorize(user, Permission.IDEA_SUPPORT, idea) is (user is not None)
        assert authorize(user, Permission.IDEA_POST, "16") is (user is not None)
        assert authorize(user, Permission.IDEA_POST, "13") is False
    assert authorize(author, Permission.IDEA_SUPPORT, idea) is False
    blocked = UserFactory()
    from consult.db import utcnow

    blocked.blocked_at = utcnow()
    assert authorize(blocked, Permission.IDEA_SUPPORT, idea) is False
    assert authorize(blocked, Permission.IDEA_POST, blocked.academie_code) is False
