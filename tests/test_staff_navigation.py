"""Staff navigation per role: the header shows each staff area to those who hold the role, and no
link leads any role to a 403 (or a 404, or a 500). For every role of the surface crawler, the
links of the pages that role sees (home, forums, a contribution, a territory page, syntheses,
account, and its staff areas) are followed one level."""

from __future__ import annotations

import html
import re

import pytest

from consult.territories import catalog
from tests.factories import RoleGrantFactory
from tests.test_surface_crawler import HOME, ROLES, _seed

HREF = re.compile(r'href="([^"]+)"')
STAFF_ITEM = re.compile(
    r'<li class="fr-nav__item consult-staff-nav">\s*<a class="fr-nav__link" href="([^"]+)"'
)

EXPECTED_AREAS = {
    "anonymous": set(),
    "participant": set(),
    "blocked": set(),
    "author": set(),
    "moderator": {"/moderation/"},
    "coordinator_elsewhere": {
        "/moderation/",
        "/questionnaire/codes/",
        "/questionnaire/resultats/",
        "/retex/mes-fiches",
        "/resultats/composer/",
    },
    "analyst": {"/questionnaire/resultats/", "/resultats/composer/", "/syntheses/compilation"},
    "admin": {
        "/moderation/",
        "/questionnaire/codes/",
        "/questionnaire/resultats/",
        "/retex/mes-fiches",
        "/resultats/composer/",
        "/syntheses/compilation",
        "/admin/",
    },
}


def _users(session):
    seed = _seed(session)
    users = dict(seed.users)
    users["admin"] = RoleGrantFactory(role="admin").user
    session.flush()
    return seed, users


def _links(page: str) -> list[str]:
    found = []
    for raw in HREF.findall(page):
        url = html.unescape(raw).split("#")[0]
        if not url.startswith("/") or url.startswith(("//", "/static/")):
            continue
        found.append(url)
    return found


@pytest.mark.parametrize("role", [*ROLES, "admin"])
def test_each_role_sees_its_staff_areas_and_no_link_is_refused(app, client, session, role):
    seed, users = _users(session)
    user = users[role]
    if user is not None:
        client.login(user.email)
    home = client.get("/").get_data(as_text=True)
    areas = STAFF_ITEM.findall(home)
    assert set(areas) == EXPECTED_AREAS[role], role
    academie = catalog().academies[HOME]
    pages = [
        "/",
        "/forums/",
        f"/forums/contributions/{seed.ids['contribution'][0]}",
        f"/territoires/{academie.slug}/",
        "/syntheses/",
        "/resultats/",
        *areas,
    ]
    if user is not None:
        pages.append("/compte/")
    links: dict[str, str] = {}
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (role, page, response.status_code)
        for link in _links(response.get_data(as_text=True)):
            links.setdefault(link, page)
    refused = []
    for link, source in links.items():
        status = client.get(link).status_code
        if status in (403, 404) or status >= 500:
            refused.append(f"{status} {link} (from {source})")
    assert not refused, f"{role}: " + "; ".join(refused)
    assert len(links) > 20
