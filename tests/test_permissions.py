"""Walk the permission matrix: every protected route × every role, and the core policy."""

from __future__ import annotations

import pytest

from consult.models import Role
from consult.permissions import Permission, authorize
from tests.factories import RoleGrantFactory, UserFactory

ROLES = {
    "anonymous": None,
    "participant": [],
    "moderator": [("moderator", "national", "")],
    "coordinator_poitiers": [("coordinator", "academie", "13")],
    "coordinator_nouvelle_aquitaine": [("coordinator", "region", "75")],
    "analyst": [("analyst", "national", "")],
    "admin": [("admin", "national", "")],
}
LOGGED_IN = {role: 200 for role in ROLES if role != "anonymous"}
ADMIN_ONLY = {role: 403 for role in ROLES if role not in {"anonymous", "admin"}} | {"admin": 200}

# (method, path, expected status per role; anonymous visitors are sent to the login page).
MATRIX = [
    ("GET", "/compte/", LOGGED_IN),
    ("GET", "/compte/profil", LOGGED_IN),
    ("GET", "/compte/securite", LOGGED_IN),
    ("GET", "/compte/mes-donnees", LOGGED_IN),
    ("GET", "/compte/suppression", LOGGED_IN),
    ("GET", "/admin/", ADMIN_ONLY),
    ("GET", "/admin/journal", ADMIN_ONLY),
    ("POST", "/admin/roles", ADMIN_ONLY | {"admin": 422}),
    ("POST", "/admin/roles/999999/retirer", ADMIN_ONLY | {"admin": 404}),
]


def _make(role: str):
    grants = ROLES[role]
    if grants is None:
        return None
    user = UserFactory()
    for name, kind, code in grants:
        RoleGrantFactory(user=user, role=name, scope_kind=kind, scope_code=code)
    return user


CASES = [
    pytest.param(method, path, role, expected.get(role, 302), id=f"{method} {path} as {role}")
    for method, path, expected in MATRIX
    for role in ROLES
]


@pytest.mark.parametrize(("method", "path", "role", "status"), CASES)
def test_route_matrix(client, session, method, path, role, status) -> None:
    user = _make(role)
    if user is not None:
        client.login(user.email)
    # A visitor's home page carries no form (no session): the login page gives the token.
    page = "/" if user is not None else "/compte/connexion"
    response = client.get(path) if method == "GET" else client.submit(path, {}, page=page)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 302:
        assert "/compte/connexion" in response.headers["Location"]


POLICY = [
    # permission, object, roles allowed
    (Permission.ACCOUNT_VIEW, None, set(ROLES) - {"anonymous"}),
    (Permission.ADMIN_ACCESS, None, {"admin"}),
    (Permission.ROLE_GRANT, None, {"admin"}),
    (Permission.AUDIT_VIEW, None, {"admin"}),
    (Permission.ANALYSIS_VIEW, None, {"analyst", "admin"}),
    (Permission.MODERATE, None, {"moderator", "admin"}),
    (
        Permission.TERRITORY_COORDINATE,
        None,
        {"coordinator_poitiers", "coordinator_nouvelle_aquitaine", "admin"},
    ),
    # Poitiers (13) belongs to the région académique Nouvelle-Aquitaine (75).
    (
        Permission.TERRITORY_COORDINATE,
        ("academie", "13"),
        {"coordinator_poitiers", "coordinator_nouvelle_aquitaine", "admin"},
    ),
    # Bordeaux (04) is in Nouvelle-Aquitaine too, but not Poitiers' coordinator's business.
    (
        Permission.TERRITORY_COORDINATE,
        ("academie", "04"),
        {"coordinator_nouvelle_aquitaine", "admin"},
    ),
    # Toulouse (16) is in Occitanie: only admins.
    (Permission.TERRITORY_COORDINATE, ("academie", "16"), {"admin"}),
    (
        Permission.TERRITORY_COORDINATE,
        ("region", "75"),
        {"coordinator_nouvelle_aquitaine", "admin"},
    ),
    (Permission.TERRITORY_COORDINATE, ("region", "76"), {"admin"}),
]


@pytest.mark.parametrize(
    ("permission", "obj", "allowed"),
    POLICY,
    ids=[f"{p.value}-{o}" for p, o, _ in POLICY],
)
def test_core_policy_matrix(session, permission, obj, allowed) -> None:
    for role in ROLES:
        user = _make(role)
        assert authorize(user, permission, obj) is (role in allowed), (role, permission, obj)


def test_blocked_and_deleted_accounts(session) -> None:
    from consult.db import utcnow

    admin = _make("admin")
    admin.deleted_at = utcnow()
    assert not authorize(admin, Permission.ADMIN_ACCESS)
    assert not authorize(admin, Permission.ACCOUNT_VIEW)


def test_account_permission_is_about_ones_own_account(session) -> None:
    me, other = UserFactory(), UserFactory()
    assert authorize(me, Permission.ACCOUNT_EDIT, me)
    assert not authorize(me, Permission.ACCOUNT_EDIT, other)


def test_unknown_permission_type_is_an_error(session) -> None:
    import enum

    class Stray(enum.Enum):
        X = "x"

    with pytest.raises(LookupError):
        authorize(UserFactory(), Stray.X)


def test_roles_property(session) -> None:
    user = _make("coordinator_poitiers")
    assert user.roles == {Role.PARTICIPANT, Role.COORDINATOR}


def test_admin_grants_and_revokes_a_scoped_role(client, session) -> None:
    from consult.models import AuditEvent, RoleGrant

    admin = _make("admin")
    target = UserFactory(pseudonym="Future_Coord")
    client.login(admin.email)
    response = client.submit(
        "/admin/roles",
        {"pseudonym": "future_coord", "role": "coordinator", "scope": "academie:16"},
        page="/admin/",
    )
    assert response.status_code == 302
    grant = session.query(RoleGrant).filter_by(user_id=target.id).one()
    assert (grant.role, grant.scope_kind, grant.scope_code) == ("coordinator", "academie", "16")
    assert authorize(target, Permission.TERRITORY_COORDINATE, ("academie", "16"))
    response = client.submit(f"/admin/roles/{grant.id}/retirer", {}, page="/admin/")
    assert response.status_code == 302
    actions = [e.action for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-2:] == ["role.granted", "role.revoked"]


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"pseudonym": "Personne_Inconnue", "role": "moderator", "scope": ""}, 404),
        ({"pseudonym": "Cible", "role": "coordinator", "scope": ""}, 422),
        ({"pseudonym": "Cible", "role": "coordinator", "scope": "academie:99"}, 422),
        ({"pseudonym": "Cible", "role": "superuser", "scope": ""}, 422),
        ({"pseudonym": "x" * 10_000, "role": "moderator", "scope": ""}, 422),
    ],
)
def test_admin_grant_rejects_bad_input(client, session, data, status) -> None:
    admin = _make("admin")
    UserFactory(pseudonym="Cible")
    client.login(admin.email)
    response = client.submit("/admin/roles", data, page="/admin/")
    assert response.status_code == status
