"""Walk the Retex permission matrix: every route × role × territory, and the policy itself."""

from __future__ import annotations

import pytest

from consult.permissions import authorize
from retex.permissions import Permission
from tests.factories import RoleGrantFactory, UserFactory
from tests.retex_factories import make_sheet

# The sheet under test belongs to the académie de Toulouse (16, région académique Occitanie 76).
ROLES = {
    "anonymous": None,
    "author": "author",
    "participant": [],
    "moderator": [("moderator", "national", "")],
    "coordinator_toulouse": [("coordinator", "academie", "16")],
    "coordinator_occitanie": [("coordinator", "region", "76")],
    "coordinator_poitiers": [("coordinator", "academie", "13")],
    "coordinator_nouvelle_aquitaine": [("coordinator", "region", "75")],
    "analyst": [("analyst", "national", "")],
    "admin": [("admin", "national", "")],
}
REVIEWERS = {"coordinator_toulouse", "coordinator_occitanie", "admin"}
LOGGED_IN = set(ROLES) - {"anonymous"}


def _make(role: str, author):
    grants = ROLES[role]
    if grants is None:
        return None
    if grants == "author":
        return author
    user = UserFactory(academie_code="16")
    for name, kind, code in grants:
        RoleGrantFactory(user=user, role=name, scope_kind=kind, scope_code=code)
    return user


def _expect(allowed: set[str], ok: int, role: str) -> int:
    if role in allowed:
        return ok
    return 302 if role == "anonymous" else 403


# (state of the sheet, method, path template, roles allowed, status when allowed)
MATRIX = [
    ("published", "GET", "/retex/", set(ROLES), 200),
    ("published", "GET", "/retex/{id}", set(ROLES), 200),
    ("published", "GET", "/retex/{id}/versions", set(ROLES), 200),
    ("published", "GET", "/retex/export.csv", set(ROLES), 200),
    ("published", "GET", "/api/v1/retex/{id}", set(ROLES), 200),
    ("draft", "GET", "/retex/nouvelle", LOGGED_IN, 200),
    ("draft", "GET", "/retex/mes-fiches", LOGGED_IN, 200),
    ("draft", "GET", "/retex/{id}/modifier", {"author"}, 200),
    # A never-submitted draft stays its author's: reviewers see it once submitted.
    ("draft", "GET", "/retex/{id}/suivi", {"author"}, 200),
    ("draft", "POST", "/retex/{id}/soumettre", {"author"}, 302),
    ("draft", "POST", "/retex/{id}/publier", set(), 302),
    ("submitted", "GET", "/retex/{id}/modifier", set(), 200),
    ("submitted", "POST", "/retex/{id}/soumettre", set(), 302),
    ("submitted", "POST", "/retex/{id}/publier", REVIEWERS, 302),
    ("submitted", "POST", "/retex/{id}/pieces-jointes", set(), 302),
    ("returned", "GET", "/retex/{id}/modifier", {"author"}, 200),
    ("returned", "POST", "/retex/{id}/soumettre", {"author"}, 302),
    ("returned", "POST", "/retex/{id}/publier", set(), 302),
    ("published", "GET", "/retex/{id}/modifier", {"author"}, 200),
    ("published", "POST", "/retex/{id}/publier", set(), 302),
]

CASES = [
    pytest.param(
        state,
        method,
        path,
        role,
        _expect(allowed, ok, role),
        id=f"{state} {method} {path} as {role}",
    )
    for state, method, path, allowed, ok in MATRIX
    for role in ROLES
]


@pytest.mark.parametrize(("state", "method", "path", "role", "status"), CASES)
def test_route_matrix(client, session, state, method, path, role, status) -> None:
    author = UserFactory(academie_code="16")
    reviewer = UserFactory()
    RoleGrantFactory(user=reviewer, role="coordinator", scope_kind="academie", scope_code="16")
    sheet = make_sheet(author, state, reviewer=reviewer)
    user = _make(role, author)
    if user is not None:
        client.login(user.email)
    url = path.format(id=sheet.id)
    response = client.get(url) if method == "GET" else client.submit(url, {}, page="/retex/")
    response.get_data()
    public_anonymous = role == "anonymous" and status == 200
    if role == "anonymous" and not public_anonymous:
        assert response.status_code == 302
        assert "/compte/connexion" in response.headers["Location"]
    else:
        assert response.status_code == status, response.get_data(as_text=True)[:300]


POLICY_TERRITORIES = [
    # territory of the sheet, roles that review it
    ("academie:16", REVIEWERS),
    ("departement:31", REVIEWERS),  # Haute-Garonne → académie de Toulouse
    ("region:76", {"coordinator_occitanie", "admin"}),
    ("academie:13", {"coordinator_poitiers", "coordinator_nouvelle_aquitaine", "admin"}),
    ("departement:86", {"coordinator_poitiers", "coordinator_nouvelle_aquitaine", "admin"}),
    ("region:75", {"coordinator_nouvelle_aquitaine", "admin"}),
]


@pytest.mark.parametrize(("territory", "allowed"), POLICY_TERRITORIES)
def test_review_policy_by_territory(session, territory, allowed) -> None:
    author = UserFactory(academie_code="16")
    sheet = make_sheet(author, "submitted", territory=territory)
    for role in ROLES:
        user = _make(role, author)
        expected = role in allowed
        assert authorize(user, Permission.REVIEW, sheet) is expected, (territory, role)
        # Viewing the working copy follows the same territories, plus the author.
        assert authorize(user, Permission.VIEW_WORK, sheet) is (expected or role == "author")
        assert authorize(user, Permission.EDIT, sheet) is False  # submitted: frozen


def test_blocked_author_can_no_longer_act(session) -> None:
    from consult.db import utcnow

    author = UserFactory(academie_code="16")
    sheet = make_sheet(author)
    author.blocked_at = utcnow()
    assert not authorize(author, Permission.EDIT, sheet)
    assert not authorize(author, Permission.SUBMIT, sheet)
    assert not authorize(author, Permission.CREATE)
